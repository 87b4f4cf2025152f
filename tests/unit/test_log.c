/*
 * util/log: every message is one line on stderr, whatever the values it
 * names: control characters in a file name (a newline in a -w name) come out
 * as C escapes, so no forged line can follow; plain text, quotes and
 * backslashes pass unchanged; an over-long message is cut, still one line.
 */
#include <fcntl.h>

#include "tests/unit/unit.h"
#include "util/util.h"

/* What log_err(fmt, arg) writes on stderr, into out. */
static void logged(const char *arg, char *out, size_t len)
{
	char path[] = "/tmp/ringcap-test-log.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0, "mkstemp/dup");
	unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_err("cannot open '%s'", arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static unsigned lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int main(void)
{
	char out[4096], big[3000];

	logged("cap\nringcap: 5 packets captured", out, sizeof(out));
	CHECK(!strcmp(out, "ringcap: cannot open 'cap\\nringcap: 5 packets captured'\n"), "%s", out);
	CHECK_EQ(lines(out), 1);

	logged("a\tb\rc\x01\x7f" "d", out, sizeof(out));
	CHECK(!strcmp(out, "ringcap: cannot open 'a\\tb\\rc\\x01\\x7fd'\n"), "%s", out);

	logged("q\"\\z caf\xc3\xa9.pcap", out, sizeof(out));
	CHECK(!strcmp(out, "ringcap: cannot open 'q\"\\z caf\xc3\xa9.pcap'\n"), "%s", out);

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logged(big, out, sizeof(out));
	CHECK_EQ(lines(out), 1);
	CHECK(!strncmp(out, "ringcap: cannot open '\\n\\n", 26), "%.40s", out);
	return unit_exit("test_log");
}
