/* --stats-json: the snapshot built as a jansson object, dumped one top-level
 * field per line (and one worker per line), because scripts read it line by
 * line (bench's jget takes the first line that names a field). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"
#include "stats/stats_impl.h"

#define DUMP_FLAGS (JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

static int put(json_t *obj, const char *key, json_t *v)
{
	/* json_object_set_new takes v even when it fails */
	return v && json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

static int put_u64(json_t *obj, const char *key, uint64_t v)
{
	/* json_int_t is long long: counters stay below 2^63 for centuries */
	return put(obj, key, json_integer((json_int_t)v));
}

/* A real rounded to `digits` decimals, printed without binary noise. */
static int put_real(json_t *obj, const char *key, double v, int digits)
{
	double scale = pow(10, digits);

	return put(obj, key, json_real(round(v * scale) / scale));
}

/* "a.b" goes to the object "a" (made on first use) under "b". */
static int put_pair(json_t *group, const struct stats_pair *p)
{
	const char *dot = strchr(p->name, '.');
	char head[64];
	json_t *sub;

	if (!dot)
		return put_u64(group, p->name, p->value);
	if ((size_t)(dot - p->name) >= sizeof(head))
		return -ENAMETOOLONG;
	snprintf(head, sizeof(head), "%.*s", (int)(dot - p->name), p->name);
	sub = json_object_get(group, head);
	if (!sub) {
		if (put(group, head, json_object()))
			return -ENOMEM;
		sub = json_object_get(group, head);
	}
	return json_is_object(sub) ? put_u64(sub, dot + 1, p->value) : -EINVAL;
}

/* An array row: `o` holds its leading keys (put with status `ret`); the
 * table's counters of `base` follow. NULL (and `o` freed) on failure. */
static json_t *row_object(json_t *o, int ret, const void *base, const struct stats_field *f,
			  size_t n)
{
	for (size_t i = 0; i < n; i++)
		ret |= put_u64(o, f[i].json, field_value(base, &f[i]));
	if (ret) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *worker_object(const struct stats_worker *w)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	return row_object(o, put_u64(o, "id", w->id) | put(o, "cpu", json_integer(w->cpu)), w,
			  worker_fields, worker_fields_n);
}

static json_t *iface_object(const struct stats_iface *ifc)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	return row_object(o, put(o, "name", json_string(ifc->name ? ifc->name : "")), ifc,
			  iface_fields, iface_fields_n);
}

static json_t *snapshot_object(const struct stats_snapshot *s)
{
	json_t *o = json_object(), *arr;
	int ret = 0;

	if (!o)
		return NULL;
	ret |= put(o, "interface", json_string(s->ifname ? s->ifname : ""));
	ret |= put_real(o, "seconds", s->seconds, 3);
	for (size_t i = 0; i < total_fields_n; i++)
		ret |= put_u64(o, total_fields[i].json, field_value(s, &total_fields[i]));
	ret |= put(o, "writer", json_string(s->writer ? s->writer : "none"));
	ret |= put(o, "o_direct", json_boolean(s->o_direct));
	ret |= put_real(o, "writer_stall_ms", (double)s->writer_stall_ns / 1e6, 1);
	if (s->disk_known) {
		ret |= put_u64(o, "disk_free_bytes", s->disk_free_bytes);
		ret |= put_u64(o, "disk_total_bytes", s->disk_total_bytes);
	}
	for (unsigned g = 0; s->groups && g < s->ngroups; g++) {
		const struct stats_group *grp = &s->groups[g];
		json_t *obj = json_object();

		ret |= put(o, grp->name, obj);
		for (unsigned i = 0; obj && i < grp->npairs; i++)
			ret |= put_pair(obj, &grp->pairs[i]);
	}
	arr = json_array();
	ret |= put(o, "workers", arr);
	for (unsigned i = 0; arr && i < s->nworkers; i++) {
		json_t *w = worker_object(&s->workers[i]);

		if (!w || json_array_append_new(arr, w))
			ret = -ENOMEM;
	}
	if (s->nifaces) {
		arr = json_array();
		ret |= put(o, "interfaces", arr);
	}
	for (unsigned i = 0; arr && i < s->nifaces; i++) {
		json_t *ifc = iface_object(&s->ifaces[i]);

		if (!ifc || json_array_append_new(arr, ifc))
			ret = -ENOMEM;
	}
	if (ret) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int dump(FILE *f, const json_t *v)
{
	return json_dumpf(v, f, DUMP_FLAGS) ? -EIO : 0;
}

/* {"key": value,\n ...}: jansson writes every key and value; we only break
 * lines. Object iteration follows insertion order (jansson >= 2.8). */
static int fill_json(FILE *f, const void *arg)
{
	const json_t *root = arg;
	const char *key;
	json_t *v;
	size_t left = json_object_size(root);
	int ret = 0;

	fputs("{\n", f);
	json_object_foreach((json_t *)root, key, v) {
		json_t *k = json_string(key);

		fputs("  ", f);
		ret = k ? dump(f, k) : -ENOMEM;
		json_decref(k);
		if (ret)
			return ret;
		fputs(": ", f);
		if (json_is_array(v)) {
			size_t i, n = json_array_size(v);

			fputs("[\n", f);
			for (i = 0; i < n && !ret; i++) {
				fputs("    ", f);
				ret = dump(f, json_array_get(v, i));
				fputs(i + 1 < n ? ",\n" : "\n", f);
			}
			fputs("  ]", f);
		} else {
			ret = dump(f, v);
		}
		if (ret)
			return ret;
		fputs(--left ? ",\n" : "\n", f);
	}
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}

int stats_write_json(const char *path, const struct stats_snapshot *s)
{
	json_t *root = snapshot_object(s);
	int ret;

	if (!root)
		return -ENOMEM;
	ret = replace_file(path, fill_json, root);
	json_decref(root);
	return ret;
}
