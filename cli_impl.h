/* Private to the command line (cli.c parses, cli_check.c checks). */
#ifndef RINGCAP_CLI_IMPL_H
#define RINGCAP_CLI_IMPL_H

#include "cli.h"

/* Without --format, a -w name ending in .pcapng asks for pcapng. */
void cli_format_from_name(struct capture_config *o);
/* Every check of a parsed command line: 0, or 2 with one line logged. */
int cli_check_combination(struct capture_config *o);

#endif
