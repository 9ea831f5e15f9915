/* sshtun: TCP streams to a remote libvirt host's own loopback (say, a
 * domain's VNC port on 127.0.0.1) through `ssh -W`, with the user, host,
 * port, key and ssh program that the host's qemu+ssh:// (or qemu+libssh://)
 * URI names.  All streams of one sshtun share one ssh connection: a
 * ControlMaster with its socket in the runtime directory, ended (and its
 * socket removed) by sshtun_free. */
#ifndef VMTTY_SSHTUN_H
#define VMTTY_SSHTUN_H

#include <stdbool.h>

/* What an ssh-transport libvirt URI says about the ssh side. */
struct sshtun_target {
	char *program;		/* command=, else "ssh" */
	char *user;		/* NULL: ssh's default */
	char *host;
	char *port;		/* NULL: ssh's default */
	char *keyfile;		/* keyfile= */
	char *known_hosts;	/* known_hosts= (libssh URIs) */
	bool no_verify;		/* no_verify=1, known_hosts_verify=ignore */
};

/* Parse URI, e.g. "qemu+ssh://root@host:2222/system?keyfile=/k&no_verify=1";
 * query values are %-decoded.  0, or -1 + err when its transport is not
 * ssh or libssh (the sentence names the host HOST_NAME). */
int sshtun_parse(const char *host_name, const char *uri, struct sshtun_target *t);
void sshtun_target_clear(struct sshtun_target *t);

struct sshtun;

/* A tunnel maker for host HOST_NAME at URI; NULL + err as sshtun_parse. */
struct sshtun *sshtun_new(const char *host_name, const char *uri);

/* Connect to ADDR:PORT as seen from the remote host; WHAT names it in
 * messages ("the graphical display of VM 'g1'").  Returns only once the
 * far end has sent its first bytes (a VNC server speaks first) or failed:
 * *FD is our end of a socketpair whose other end is ssh's stdin/stdout.
 * 0, or -1 + err with ssh's own words. */
int sshtun_open(struct sshtun *t, const char *addr, int port, const char *what, int *fd);

/* End the shared ssh connection (ssh -O exit) and every ssh still
 * running for T, and free T.  NULL is fine. */
void sshtun_free(struct sshtun *t);

#endif
