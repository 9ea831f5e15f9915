/* libvirt_xml: reading libvirt's XML back with libxml2 and XPath.  Used
 * by libvirt_xml.c and exported for the tests, which dump a domain's
 * values with it; libxml2 itself stays inside the plugin. */
#ifndef VMTTY_LIBVIRT_XML_PRIV_H
#define VMTTY_LIBVIRT_XML_PRIV_H

/* A parsed document and its XPath context. */
struct libvirt_xml;

/* Parse XML (NUL-terminated), which libvirt returned for WHAT ("the
 * definition of VM 'x'"): NULL + one-line err when it does not parse.
 * Nothing is printed, no DTD or entity is loaded, no network is used. */
struct libvirt_xml *libvirt_xml_parse(const char *xml, const char *what);

void libvirt_xml_free(struct libvirt_xml *x);

/* How many nodes XPath EXPR selects. */
int libvirt_xml_count(struct libvirt_xml *x, const char *expr);

/* The string value (entities decoded) of the first node XPath EXPR
 * selects: allocated, or NULL when it selects none. */
char *libvirt_xml_get(struct libvirt_xml *x, const char *expr);

#endif
