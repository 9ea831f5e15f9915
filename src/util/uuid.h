/* uuid: random (version 4) UUIDs in their 36-character text form. */
#ifndef VMTTY_UUID_H
#define VMTTY_UUID_H

#define UUID_STR_LEN 37

int uuid_generate(char out[UUID_STR_LEN]);
int uuid_valid(const char *s);

#endif
