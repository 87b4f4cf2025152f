/* The command line: one option table (util/opt.h), tcpdump's letters where the
 * meaning is the same. cli_parse() validates everything before anything is
 * opened. Main's set-up phase only. */
#ifndef RINGCAP_CLI_H
#define RINGCAP_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"

/* The program's version (--version). */
#define RINGCAP_VERSION "0.1.0"

/*
 * Parse argv into *o, the config capture_open takes (capture/capture.h). On
 * bad input prints one line naming the bad value and returns 2; on
 * --help/--version prints and returns 0 with *exit_now set; so does -D, after
 * listing the interfaces (1 if they cannot be read). Returns 0 to go on.
 * Opens nothing of the capture (-F's file is read here, and *o->expr is
 * its text then), never exits. Options may stand among the
 * expression's words (argv is reordered, the words to its end); *o keeps
 * pointers into argv.
 */
int cli_parse(struct capture_config *o, int argc, char **argv, bool *exit_now);
void cli_free(struct capture_config *o);

#endif
