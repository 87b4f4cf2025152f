/*
 * The service manager's notification protocol (sd_notify(3)), written out
 * rather than linked from libsystemd: it is one datagram of "KEY=VALUE" lines
 * to the AF_UNIX socket named by $NOTIFY_SOCKET (an abstract one when the name
 * starts with '@'), a documented and stable interface, and this keeps ringcap
 * free of a library it would use for nothing else.
 *
 * The socket is made and connected once, at the start of main, while the
 * process still has its privileges (a -Z user could not connect to a socket
 * only root may write); the variables are then taken out of the environment so
 * -z children do not talk to the service manager in ringcap's name.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"

/* $WATCHDOG_USEC, when it is meant for this process ($WATCHDOG_PID absent or
 * ours). 0: no watchdog. */
static uint64_t watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	uint64_t v, p;

	if (!usec || parse_u64(usec, 1, UINT64_MAX / 1000, &v))
		return 0;
	if (pid && (parse_u64(pid, 1, UINT32_MAX, &p) || p != (uint64_t)getpid()))
		return 0;
	return v;
}

int notify_open(struct notify *n)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	size_t len;
	int ret = 0;

	n->fd = -1;
	n->watchdog_ns = 0;
	if (!name || !name[0])
		goto out_unset;
	len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sa.sun_path)) {
		ret = -EAFNOSUPPORT; /* vsock and other families are not ours to reach */
		goto out_unset;
	}
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: no trailing NUL counted */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		ret = -errno;
		goto out_unset;
	}
	if (connect(n->fd, (struct sockaddr *)&sa, salen) < 0) {
		ret = -errno;
		close(n->fd);
		n->fd = -1;
		goto out_unset;
	}
	n->watchdog_ns = watchdog_usec() * 1000;
out_unset:
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return ret;
}

bool notify_active(const struct notify *n)
{
	return n->fd >= 0;
}

int notify_send(const struct notify *n, const char *msg)
{
	if (n->fd < 0)
		return 0;
	/* a full socket buffer means a busy manager: drop the message rather
	 * than stall main's loop */
	if (send(n->fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

void notify_close(struct notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
