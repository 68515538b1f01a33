/* base/config.c - the configuration table: parsing, validation, JSON files,
 * readers and the generated help and man page text. */
#define LOG_SUBSYS "config"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "fffs.h"

/* A config file larger than this is refused rather than read. */
#define CFG_FILE_MAX (1u << 20)
/* Longest part of a value quoted in an error message. */
#define CFG_QUOTE_MAX 64

struct cfg_row {
	const char *name;
	enum cfg_type type;
	const char *def;
	int64_t min, max;
	const char *choices; /* CFG_ENUM only: "a|b|c" */
	const char *help;
};

static const struct cfg_row cfg_rows[CFG__COUNT] = {
#define CFG_ROW(name_, type_, def_, min_, max_, choices_, help_) \
	[CFG_##name_] = { .name = #name_,                        \
			  .type = type_,                         \
			  .def = def_,                           \
			  .min = min_,                           \
			  .max = max_,                           \
			  .choices = choices_,                   \
			  .help = help_ },
	CONFIG_KEYS(CFG_ROW)
#undef CFG_ROW
};

/* A parsed value: the number (INT, SIZE, MS, BOOL, ENUM index) and the
 * canonical text, which the holder owns. */
struct cfg_val {
	int64_t i;
	char *s;
};

static struct cfg_val cfg_vals[CFG__COUNT];
static bool cfg_ready; /* config_reset() has run */

static const char *const cfg_type_names[] = {
	[CFG_INT] = "int",   [CFG_SIZE] = "size",  [CFG_MS] = "ms",
	[CFG_BOOL] = "bool", [CFG_STR] = "string", [CFG_ENUM] = "enum",
};

struct cfg_unit {
	const char *suffix;
	int64_t mult;
};

static const struct cfg_unit cfg_int_units[] = { { "", 1 } };

/* Matched case-insensitively; "" is the bare number. */
static const struct cfg_unit cfg_size_units[] = {
	{ "", 1 },	     { "B", 1 },	   { "K", 1ll << 10 },
	{ "KB", 1ll << 10 }, { "KiB", 1ll << 10 }, { "M", 1ll << 20 },
	{ "MB", 1ll << 20 }, { "MiB", 1ll << 20 }, { "G", 1ll << 30 },
	{ "GB", 1ll << 30 }, { "GiB", 1ll << 30 }, { "T", 1ll << 40 },
	{ "TB", 1ll << 40 }, { "TiB", 1ll << 40 },
};

static const struct cfg_unit cfg_ms_units[] = {
	{ "", 1 },
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60000 },
};

/* How INT, SIZE and MS text is read, and what to call it in errors. */
struct cfg_num_kind {
	const struct cfg_unit *units;
	size_t n;
	bool hex; /* 0x allowed; not with units, where 0x1B would be ambiguous
		   */
	const char *what;
};

static const struct cfg_num_kind cfg_num_kinds[] = {
	[CFG_INT] = { cfg_int_units, FFFS_ARRAY_LEN(cfg_int_units), true,
		      "an integer" },
	[CFG_SIZE] = { cfg_size_units, FFFS_ARRAY_LEN(cfg_size_units), false,
		       "a size (e.g. 4096, 64K, 1M)" },
	[CFG_MS] = { cfg_ms_units, FFFS_ARRAY_LEN(cfg_ms_units), false,
		     "a duration (e.g. 200, 200ms, 5s, 2m)" },
};

struct cfg_word {
	const char *word;
	bool val;
};

static const struct cfg_word cfg_bool_words[] = {
	{ "true", true }, { "false", false }, { "1", true },  { "0", false },
	{ "yes", true },  { "no", false },    { "on", true }, { "off", false },
};

static void FFFS_PRINTF(3, 4)
	cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Error for a bad value of row r: "key 'name': value 'text' <what>". The
 * caller puts "config " or "config file '...': " in front. */
static int FFFS_PRINTF(5, 6)
	cfg_bad(const struct cfg_row *r, const char *text, char *err,
		size_t errlen, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cfg_err(err, errlen, "key '%s': value '%.*s%s' %s", r->name,
		CFG_QUOTE_MAX, text, strlen(text) > CFG_QUOTE_MAX ? "..." : "",
		what);
	return -FFFS_ECONFIG;
}

/* ---- parsing ---------------------------------------------------------- */

/* Leading integer of text: decimal, or with hex also 0x and hex digits;
 * *end gets the rest. */
static int cfg_scan_int(const char *text, bool hex, int64_t *out,
			const char **end)
{
	const char *p = text + (*text == '-');
	bool is_hex = hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	int base = is_hex ? 16 : 10;
	char *e;
	long long v;

	/* strtoll would skip spaces and take a second sign; refuse both. */
	if (!(p[0] >= '0' && p[0] <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &e, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (e == p + 1 && base == 16) /* "0x" with no digits */
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

static int cfg_check_range(const struct cfg_row *r, const char *text, int64_t v,
			   char *err, size_t errlen)
{
	if (v < r->min)
		return cfg_bad(r, text, err, errlen,
			       "is below the minimum %" PRId64, r->min);
	if (v > r->max)
		return cfg_bad(r, text, err, errlen,
			       "is above the maximum %" PRId64, r->max);
	return 0;
}

/* INT, SIZE and MS: an integer, a unit of kind, within the range. */
static int cfg_parse_num(const struct cfg_row *r, const char *text,
			 const struct cfg_num_kind *kind, struct cfg_val *out,
			 char *err, size_t errlen)
{
	const char *rest;
	int64_t v, mult;
	size_t i;
	int rc;

	rc = cfg_scan_int(text, kind->hex, &v, &rest);
	if (rc == -ERANGE)
		return cfg_bad(r, text, err, errlen, "is out of range");
	for (i = 0; rc == 0 && i < kind->n; i++)
		if (!strcasecmp(rest, kind->units[i].suffix))
			break;
	if (rc < 0 || i == kind->n)
		return cfg_bad(r, text, err, errlen, "is not %s", kind->what);
	mult = kind->units[i].mult;
	if (v > INT64_MAX / mult || v < INT64_MIN / mult)
		return cfg_bad(r, text, err, errlen, "is out of range");
	v *= mult;
	rc = cfg_check_range(r, text, v, err, errlen);
	if (rc < 0)
		return rc;
	out->i = v;
	out->s = xasprintf("%" PRId64, v);
	return 0;
}

static int cfg_parse_bool(const struct cfg_row *r, const char *text,
			  struct cfg_val *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < FFFS_ARRAY_LEN(cfg_bool_words); i++) {
		if (!strcasecmp(text, cfg_bool_words[i].word)) {
			out->i = cfg_bool_words[i].val;
			out->s = xstrdup(out->i ? "true" : "false");
			return 0;
		}
	}
	return cfg_bad(r, text, err, errlen,
		       "is not a boolean (true/false/1/0/yes/no/on/off)");
}

static int cfg_parse_str(const struct cfg_row *r, const char *text,
			 struct cfg_val *out, char *err, size_t errlen)
{
	size_t len = strlen(text);

	if ((int64_t)len < r->min)
		return cfg_bad(r, text, err, errlen,
			       "is shorter than the minimum length %" PRId64,
			       r->min);
	if ((int64_t)len > r->max)
		return cfg_bad(r, text, err, errlen,
			       "is longer than the maximum length %" PRId64,
			       r->max);
	out->i = 0;
	out->s = xstrdup(text);
	return 0;
}

static int cfg_parse_enum(const struct cfg_row *r, const char *text,
			  struct cfg_val *out, char *err, size_t errlen)
{
	size_t len = strlen(text);
	const char *p = r->choices;
	int64_t idx = 0;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && !memcmp(p, text, n)) {
			out->i = idx;
			out->s = xstrdup(text);
			return 0;
		}
		if (!bar)
			break;
		p = bar + 1;
		idx++;
	}
	return cfg_bad(r, text, err, errlen, "is not one of %s", r->choices);
}

/* Parse text as a value of row r into *out; out->s is then the caller's. */
static int cfg_parse(const struct cfg_row *r, const char *text,
		     struct cfg_val *out, char *err, size_t errlen)
{
	switch (r->type) {
	case CFG_INT:
	case CFG_SIZE:
	case CFG_MS:
		return cfg_parse_num(r, text, &cfg_num_kinds[r->type], out, err,
				     errlen);
	case CFG_BOOL:
		return cfg_parse_bool(r, text, out, err, errlen);
	case CFG_STR:
		return cfg_parse_str(r, text, out, err, errlen);
	case CFG_ENUM:
		return cfg_parse_enum(r, text, out, err, errlen);
	}
	FFFS_ASSERT(!"unknown config type");
	return -FFFS_ECONFIG;
}

/* ---- the table -------------------------------------------------------- */

/* Replace the value of k with v, taking v->s; runs the side effects. */
static void cfg_apply(enum cfg_key k, struct cfg_val *v)
{
	free(cfg_vals[k].s);
	cfg_vals[k] = *v;
	if (k == CFG_log_level) {
		/* The choices are the level names in LOGL_* order. */
		FFFS_ASSERT(log_level_parse(v->s) == (int)v->i);
		log_level_cur = (int)v->i;
	}
}

void config_reset(void)
{
	for (int k = 0; k < CFG__COUNT; k++) {
		const struct cfg_row *r = &cfg_rows[k];
		struct cfg_val v;
		char err[256];
		int rc;

		FFFS_ASSERT((r->type == CFG_ENUM) == (r->choices != NULL));
		rc = cfg_parse(r, r->def, &v, err, sizeof(err));
		/* A default the parser refuses is a bug in CONFIG_KEYS. */
		if (rc < 0)
			log_error("default of %s", err);
		FFFS_ASSERT(rc == 0);
		cfg_apply((enum cfg_key)k, &v);
	}
	cfg_ready = true;
}

int config_find(const char *key)
{
	for (int k = 0; k < CFG__COUNT; k++)
		if (!strcmp(key, cfg_rows[k].name))
			return k;
	return -1;
}

int config_set(const char *key, const char *value, char *err, size_t errlen)
{
	char msg[256];
	struct cfg_val v;
	int k, rc;

	FFFS_ASSERT(cfg_ready && key && value);
	k = config_find(key);
	if (k < 0) {
		cfg_err(err, errlen, "unknown config key '%s'", key);
		return -FFFS_ECONFIG;
	}
	rc = cfg_parse(&cfg_rows[k], value, &v, msg, sizeof(msg));
	if (rc < 0) {
		cfg_err(err, errlen, "config %s", msg);
		return rc;
	}
	cfg_apply((enum cfg_key)k, &v);
	return 0;
}

int config_set_kv(const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t n;
	char *key;
	int rc;

	if (!eq) {
		cfg_err(err, errlen,
			"config setting '%s': expected key=value, no '=' found",
			kv);
		return -FFFS_ECONFIG;
	}
	n = (size_t)(eq - kv);
	key = xmalloc(n + 1);
	memcpy(key, kv, n);
	key[n] = 0;
	rc = config_set(key, eq + 1, err, errlen);
	free(key);
	return rc;
}

/* ---- JSON files ------------------------------------------------------- */

/* Whole file into a NUL-terminated *buf; -errno or -EFBIG. */
static int cfg_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	char *b;
	FILE *f;
	int rc = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	b = xmalloc(cap + 1);
	errno = 0;
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap && cap >= CFG_FILE_MAX) {
			rc = -EFBIG;
			break;
		}
		if (n == cap)
			b = xrealloc(b, (cap *= 2) + 1);
	}
	if (!rc && ferror(f))
		rc = errno ? -errno : -EIO;
	fclose(f);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static const char *cfg_json_kind(const cJSON *j)
{
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	return "an object";
}

/* What a JSON member of each type may be, for errors. */
static const char *const cfg_json_wants[] = {
	[CFG_INT] = "a number or a string",
	[CFG_SIZE] = "a number or a string",
	[CFG_MS] = "a number or a string",
	[CFG_BOOL] = "a boolean",
	[CFG_STR] = "a string",
	[CFG_ENUM] = "a string",
};

/* A JSON number as integer text for the parser; non-integral is refused. */
static int cfg_json_num(const struct cfg_row *r, const cJSON *j, char *text,
			size_t textlen, char *msg, size_t msglen)
{
	double d = j->valuedouble;

	snprintf(text, textlen, "%.17g", d);
	/* -2^63 <= d < 2^63, so the cast below is defined. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return cfg_bad(r, text, msg, msglen, "is out of range");
	if (d != (double)(int64_t)d)
		return cfg_bad(r, text, msg, msglen, "is not an integer");
	snprintf(text, textlen, "%" PRId64, (int64_t)d);
	return 0;
}

/* Parse one JSON member as a value of row r, checking its JSON type. */
static int cfg_parse_json(const struct cfg_row *r, const cJSON *j,
			  struct cfg_val *out, char *msg, size_t msglen)
{
	bool numeric =
		r->type == CFG_INT || r->type == CFG_SIZE || r->type == CFG_MS;
	char text[64];
	int rc;

	if (cJSON_IsString(j))
		return cfg_parse(r, j->valuestring, out, msg, msglen);
	if (r->type == CFG_BOOL && cJSON_IsBool(j))
		return cfg_parse(r, cJSON_IsTrue(j) ? "true" : "false", out,
				 msg, msglen);
	if (numeric && cJSON_IsNumber(j)) {
		rc = cfg_json_num(r, j, text, sizeof(text), msg, msglen);
		return rc < 0 ? rc : cfg_parse(r, text, out, msg, msglen);
	}
	cfg_err(msg, msglen, "key '%s': expected %s, not %s", r->name,
		cfg_json_wants[r->type], cfg_json_kind(j));
	return -FFFS_ECONFIG;
}

/* Validate every member of root into staged[]; nothing is applied. */
static int cfg_stage(const cJSON *root, struct cfg_val *staged, char *msg,
		     size_t msglen)
{
	const cJSON *j;
	int k, rc;

	cJSON_ArrayForEach(j, root)
	{
		k = config_find(j->string);
		if (k < 0) {
			cfg_err(msg, msglen, "unknown key '%s'", j->string);
			return -FFFS_ECONFIG;
		}
		if (staged[k].s) {
			cfg_err(msg, msglen, "key '%s' is given twice",
				j->string);
			return -FFFS_ECONFIG;
		}
		rc = cfg_parse_json(&cfg_rows[k], j, &staged[k], msg, msglen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* "near line L, column C" of the byte at pos in buf. */
static void cfg_json_where(const char *buf, const char *pos, char *out,
			   size_t outlen)
{
	int line = 1, col = 1;

	for (const char *p = buf; pos && p < pos; p++) {
		col = *p == '\n' ? 1 : col + 1;
		line += *p == '\n';
	}
	snprintf(out, outlen, "near line %d, column %d", line, col);
}

/* Parse buf (len bytes and a NUL) as a JSON object; msg says why not. */
static cJSON *cfg_json_parse(const char *buf, size_t len, char *msg,
			     size_t msglen)
{
	const char *end = NULL;
	char where[64];
	cJSON *root;

	if (memchr(buf, 0, len)) {
		cfg_err(msg, msglen, "contains a NUL byte");
		return NULL;
	}
	/* Including the NUL, which is how cJSON finds trailing garbage. */
	root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, true);
	if (!root) {
		cfg_json_where(buf, end, where, sizeof(where));
		cfg_err(msg, msglen, "not valid JSON %s", where);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cfg_err(msg, msglen, "expected a JSON object, not %s",
			cfg_json_kind(root));
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int config_load_file(const char *path, char *err, size_t errlen)
{
	struct cfg_val staged[CFG__COUNT] = { { 0 } };
	char msg[256], *buf = NULL;
	cJSON *root;
	size_t len = 0;
	int k, rc;

	FFFS_ASSERT(cfg_ready);
	rc = cfg_read_file(path, &buf, &len);
	if (rc < 0) {
		cfg_err(err, errlen, "cannot read config file '%s': %s", path,
			fffs_strerror(rc));
		return rc;
	}
	rc = -FFFS_ECONFIG;
	root = cfg_json_parse(buf, len, msg, sizeof(msg));
	if (!root)
		goto out_buf;
	rc = cfg_stage(root, staged, msg, sizeof(msg));
	for (k = 0; k < CFG__COUNT; k++) {
		if (rc == 0 && staged[k].s)
			cfg_apply((enum cfg_key)k, &staged[k]);
		else
			free(staged[k].s);
	}
	cJSON_Delete(root);
out_buf:
	free(buf);
	if (rc < 0)
		cfg_err(err, errlen, "config file '%s': %s", path, msg);
	return rc;
}

/* ---- readers ---------------------------------------------------------- */

int64_t config_int(enum cfg_key k)
{
	FFFS_ASSERT(cfg_ready && (unsigned)k < CFG__COUNT);
	FFFS_ASSERT(cfg_rows[k].type != CFG_STR);
	return cfg_vals[k].i;
}

bool config_bool(enum cfg_key k)
{
	FFFS_ASSERT(cfg_ready && (unsigned)k < CFG__COUNT);
	FFFS_ASSERT(cfg_rows[k].type == CFG_BOOL);
	return cfg_vals[k].i != 0;
}

const char *config_str(enum cfg_key k)
{
	FFFS_ASSERT(cfg_ready && (unsigned)k < CFG__COUNT);
	return cfg_vals[k].s;
}

/* ---- help, man page, JSON dump ---------------------------------------- */

/* v with the largest unit that divides it exactly, e.g. 1048576 -> "1M". */
static void cfg_fmt_unit(const struct cfg_row *r, int64_t v, char *out,
			 size_t outlen)
{
	static const struct cfg_unit size[] = { { "T", 1ll << 40 },
						{ "G", 1ll << 30 },
						{ "M", 1ll << 20 },
						{ "K", 1ll << 10 } };
	static const struct cfg_unit ms[] = { { "m", 60000 }, { "s", 1000 } };
	const struct cfg_unit *u = r->type == CFG_SIZE ? size : ms;
	size_t n =
		r->type == CFG_SIZE ? FFFS_ARRAY_LEN(size) : FFFS_ARRAY_LEN(ms);

	for (size_t i = 0; v != 0 && i < n; i++) {
		if (v % u[i].mult == 0) {
			snprintf(out, outlen, "%" PRId64 "%s", v / u[i].mult,
				 u[i].suffix);
			return;
		}
	}
	snprintf(out, outlen, "%" PRId64 "%s", v,
		 v && r->type == CFG_MS ? "ms" : "");
}

/* The accepted values of row r: "1..256", "4K..16M", "length 1..63". */
static void cfg_fmt_range(const struct cfg_row *r, char *out, size_t outlen)
{
	char lo[32], hi[32];

	switch (r->type) {
	case CFG_SIZE:
	case CFG_MS:
		cfg_fmt_unit(r, r->min, lo, sizeof(lo));
		cfg_fmt_unit(r, r->max, hi, sizeof(hi));
		snprintf(out, outlen, "%s..%s", lo, hi);
		break;
	case CFG_INT:
		snprintf(out, outlen, "%" PRId64 "..%" PRId64, r->min, r->max);
		break;
	case CFG_STR:
		snprintf(out, outlen, "length %" PRId64 "..%" PRId64, r->min,
			 r->max);
		break;
	case CFG_BOOL:
		snprintf(out, outlen, "true|false");
		break;
	case CFG_ENUM:
		snprintf(out, outlen, "%s", r->choices);
		break;
	}
}

static const char *cfg_fmt_def(const struct cfg_row *r)
{
	return r->def[0] ? r->def : "\"\"";
}

void config_print_help(FILE *f)
{
	char range[128];

	fprintf(f, "%-24s %-6s %-18s %s\n", "KEY", "TYPE", "DEFAULT",
		"ACCEPTS");
	for (int k = 0; k < CFG__COUNT; k++) {
		const struct cfg_row *r = &cfg_rows[k];

		cfg_fmt_range(r, range, sizeof(range));
		fprintf(f, "%-24s %-6s %-18s %s\n    %s\n", r->name,
			cfg_type_names[r->type], cfg_fmt_def(r), range,
			r->help);
	}
}

/* s as troff text: backslashes as \e, a leading '.' or '\'' guarded with
 * \&, and with minus set (option-like text) '-' as \- so it is not
 * hyphenated or turned into a hyphen glyph. */
static void cfg_troff_puts(FILE *f, const char *s, bool minus, bool bol)
{
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-' && minus)
			fputs("\\-", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

/* What the troff tag line says before the range of each type. */
static const char *const cfg_range_words[] = {
	[CFG_INT] = ", range ", [CFG_SIZE] = ", range ",
	[CFG_MS] = ", range ",	[CFG_BOOL] = ", ",
	[CFG_STR] = ", ",	[CFG_ENUM] = ", one of ",
};

void config_print_troff(FILE *f)
{
	char range[128];

	for (int k = 0; k < CFG__COUNT; k++) {
		const struct cfg_row *r = &cfg_rows[k];

		cfg_fmt_range(r, range, sizeof(range));
		fputs(".TP\n\\fB", f);
		cfg_troff_puts(f, r->name, true, false);
		fprintf(f, "\\fR (%s, default ", cfg_type_names[r->type]);
		cfg_troff_puts(f, cfg_fmt_def(r), true, false);
		fputs(cfg_range_words[r->type], f);
		cfg_troff_puts(f, range, true, false);
		fputs(")\n", f);
		cfg_troff_puts(f, r->help, false, true);
		fputc('\n', f);
	}
}

static void cfg_json_add(cJSON *obj, enum cfg_key k)
{
	const struct cfg_row *r = &cfg_rows[k];
	const struct cfg_val *v = &cfg_vals[k];
	cJSON *item;

	if (r->type == CFG_STR || r->type == CFG_ENUM)
		item = cJSON_AddStringToObject(obj, r->name, v->s);
	else if (r->type == CFG_BOOL)
		item = cJSON_AddBoolToObject(obj, r->name, v->i != 0);
	else
		item = cJSON_AddNumberToObject(obj, r->name, (double)v->i);
	/* cJSON fails only when out of memory; abort as x*alloc would. */
	FFFS_ASSERT(item != NULL);
}

char *config_dump_json(void)
{
	cJSON *obj;
	char *s;

	FFFS_ASSERT(cfg_ready);
	obj = cJSON_CreateObject();
	FFFS_ASSERT(obj != NULL);
	for (int k = 0; k < CFG__COUNT; k++)
		cfg_json_add(obj, (enum cfg_key)k);
	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	FFFS_ASSERT(s != NULL);
	return s;
}
