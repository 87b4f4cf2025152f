/* --stats-prom: the Prometheus text exposition format (0.0.4) for
 * node_exporter's textfile collector. Every family has # HELP and # TYPE and
 * its samples right after them; counters end in _total. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stats/stats.h"
#include "stats/stats_impl.h"

/* A label value: backslash, double quote and newline are escaped. */
static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{interface="IF"[,worker="ID"]} */
static void labelled_head(FILE *f, const char *name, const char *ifname, int worker)
{
	fprintf(f, "%s{interface=\"", name);
	put_label_value(f, ifname ? ifname : "");
	if (worker >= 0)
		fprintf(f, "\",worker=\"%d", worker);
	fputs("\"} ", f);
}

static void sample_head(FILE *f, const char *name, const struct stats_snapshot *s, int worker)
{
	labelled_head(f, name, s->ifname, worker);
}

static void counter(FILE *f, const struct stats_snapshot *s, const char *name, const char *help,
		    uint64_t v)
{
	family(f, name, "counter", help);
	sample_head(f, name, s, -1);
	fprintf(f, "%llu\n", (unsigned long long)v);
}

static void gauge(FILE *f, const struct stats_snapshot *s, const char *name, const char *help,
		  double v)
{
	family(f, name, "gauge", help);
	sample_head(f, name, s, -1);
	fprintf(f, "%.17g\n", v);
}

/* One family with a sample per worker. */
static void per_worker(FILE *f, const struct stats_snapshot *s, const struct stats_field *field)
{
	family(f, field->prom, field->type, field->help);
	for (unsigned i = 0; i < s->nworkers; i++) {
		sample_head(f, field->prom, s, (int)s->workers[i].id);
		fprintf(f, "%llu\n", (unsigned long long)field_value(&s->workers[i], field));
	}
}

/* One family with a sample per capture interface, labelled with its name. */
static void per_iface(FILE *f, const struct stats_snapshot *s, const struct stats_field *field)
{
	family(f, field->prom, field->type, field->help);
	for (unsigned i = 0; i < s->nifaces; i++) {
		labelled_head(f, field->prom, s->ifaces[i].name, -1);
		fprintf(f, "%llu\n", (unsigned long long)field_value(&s->ifaces[i], field));
	}
}

/* ringcap_GROUP_NAME_total, the names cut to [a-z0-9_] (dots become '_'). */
static void group_counter(FILE *f, const struct stats_snapshot *s, const struct stats_group *g,
			  const struct stats_pair *p)
{
	char name[128];
	size_t n = (size_t)snprintf(name, sizeof(name), "ringcap_%s_", g->name);

	if (n > sizeof(name) - 7)
		n = sizeof(name) - 7;

	for (const char *c = p->name; *c && n + 7 < sizeof(name); c++)
		name[n++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
	memcpy(name + n, "_total", 7);
	counter(f, s, name, g->help, p->value);
}

static int fill_prom(FILE *f, const void *arg)
{
	const struct stats_snapshot *s = arg;

	gauge(f, s, "ringcap_uptime_seconds", "Seconds since the capture started.", s->seconds);
	for (size_t i = 0; i < total_fields_n; i++) {
		const struct stats_field *t = &total_fields[i];

		family(f, t->prom, t->type, t->help);
		sample_head(f, t->prom, s, -1);
		fprintf(f, "%llu\n", (unsigned long long)field_value(s, t));
	}
	family(f, "ringcap_writer_wait_seconds_total", "counter",
	       "Time workers spent waiting for the disk.");
	sample_head(f, "ringcap_writer_wait_seconds_total", s, -1);
	fprintf(f, "%.9f\n", (double)s->writer_stall_ns / 1e9);
	if (s->disk_known) {
		gauge(f, s, "ringcap_disk_free_bytes",
		      "Bytes available on the capture file system (statvfs f_bavail).",
		      (double)s->disk_free_bytes);
		gauge(f, s, "ringcap_disk_size_bytes", "Size of the capture file system.",
		      (double)s->disk_total_bytes);
	}
	for (size_t i = 0; i < worker_fields_n; i++)
		per_worker(f, s, &worker_fields[i]);
	for (size_t i = 0; s->nifaces && i < iface_fields_n; i++)
		per_iface(f, s, &iface_fields[i]);
	for (unsigned g = 0; s->groups && g < s->ngroups; g++)
		for (unsigned i = 0; i < s->groups[g].npairs; i++)
			group_counter(f, s, &s->groups[g], &s->groups[g].pairs[i]);
	return ferror(f) ? -EIO : 0;
}

int stats_write_prometheus(const char *path, const struct stats_snapshot *s)
{
	return replace_file(path, fill_prom, s);
}
