/*
 * util/log: every message is one line on stderr, whatever the values it
 * names: control characters in a file name (a newline in a -w name) come out
 * as C escapes, so no forged line can follow; plain text, quotes and
 * backslashes pass unchanged; an over-long message is cut, still one line.
 *
 * Priorities for the journal: when $JOURNAL_STREAM names the stream stderr
 * is (device:inode, as systemd sets it), every line starts with its syslog
 * priority, <3> error, <4> warning, <5> notice, <6> info, and the text after
 * it is the same as without; when it names another file, or is unset, or is
 * not "DEV:INO", no prefix.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "util/util.h"

enum level { ERR, WARN, NOTICE, INFO };

/* What one log call ("cannot open '%s'", arg) writes on stderr when stderr is
 * a fresh temporary file and $JOURNAL_STREAM is `journal` (NULL: unset;
 * "self": that file's device and inode), into out. */
static void logged_at(const char *journal, enum level level, const char *arg, char *out,
		      size_t len)
{
	char path[] = "/tmp/ringcap-test-log.XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0 && fstat(fd, &st) == 0, "mkstemp/dup/fstat");
	unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	if (journal)
		setenv("JOURNAL_STREAM", strcmp(journal, "self") ? journal : env, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_set_program("ringcap");
	switch (level) {
	case ERR: log_err("cannot open '%s'", arg); break;
	case WARN: log_warn("cannot open '%s'", arg); break;
	case NOTICE: log_notice("cannot open '%s'", arg); break;
	case INFO: log_info("cannot open '%s'", arg); break;
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* What log_err("cannot open '%s'", arg) writes on a plain stderr. */
static void logged(const char *arg, char *out, size_t len)
{
	logged_at(NULL, ERR, arg, out, len);
}

static void check_priorities(void)
{
	static const struct { enum level level; const char *journal, *plain; } cases[] = {
		{ ERR, "<3>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
		{ WARN, "<4>ringcap: warning: cannot open 'a\\nb'\n",
		  "ringcap: warning: cannot open 'a\\nb'\n" },
		{ NOTICE, "<5>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
		{ INFO, "<6>ringcap: cannot open 'a\\nb'\n", "ringcap: cannot open 'a\\nb'\n" },
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		logged_at("self", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].journal), "journal, level %zu: %s", i, out);
		logged_at(NULL, cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "no JOURNAL_STREAM, level %zu: %s", i, out);
		/* stderr was redirected away from the journal's stream */
		logged_at("1:1", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "other stream, level %zu: %s", i, out);
		logged_at("garbage", cases[i].level, "a\nb", out, sizeof(out));
		CHECK(!strcmp(out, cases[i].plain), "bad JOURNAL_STREAM, level %zu: %s", i, out);
	}
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

	check_priorities();
	return unit_exit("test_log");
}
