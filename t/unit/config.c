/* t/unit/config.c - unit test of the configuration table (base/config.c). */
#define LOG_SUBSYS "t-config"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "fffs.h"
#include "t/unit/tap.h"

static char err[512];

/* config_set() succeeds and the key reads back as want. */
static void set_ok(const char *key, const char *val, int64_t want)
{
	char name[256];
	int k = config_find(key);

	snprintf(name, sizeof(name), "%s=%s is accepted", key, val);
	err[0] = 0;
	is_int(config_set(key, val, err, sizeof(err)), 0, name);
	if (err[0])
		diag(err);
	snprintf(name, sizeof(name), "%s=%s reads back as %lld", key, val,
		 (long long)want);
	is_int(k >= 0 ? config_int((enum cfg_key)k) : -1, want, name);
}

/* config_set() refuses, names the key and the reason, and keeps the old
 * value. */
static void set_bad(const char *key, const char *val, const char *why)
{
	char name[256];
	int k = config_find(key);
	const char *before = k >= 0 ? config_str((enum cfg_key)k) : NULL;
	char *saved = before ? strdup(before) : NULL;
	int rc;

	err[0] = 0;
	rc = config_set(key, val, err, sizeof(err));
	snprintf(name, sizeof(name), "%s=%s is refused", key, val);
	is_int(rc, -FFFS_ECONFIG, name);
	snprintf(name, sizeof(name), "%s=%s: error names the key and '%s'", key,
		 val, why);
	if (!ok(strstr(err, key) && strstr(err, why), name))
		diag(err);
	if (k >= 0)
		is_str(config_str((enum cfg_key)k), saved, "old value kept");
	free(saved);
}

/* Write text to a new file under /tmp; the caller unlinks path. */
static void write_tmp(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/fffs-t-config-XXXXXX");
	fd = mkstemp(path);
	FFFS_ASSERT(fd >= 0);
	FFFS_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static int load_text(const char *text, char *path, size_t len)
{
	int rc;

	write_tmp(path, len, text);
	err[0] = 0;
	rc = config_load_file(path, err, sizeof(err));
	unlink(path);
	return rc;
}

static void test_defaults(void)
{
	config_reset();
	is_int(config_int(CFG_cores), 1, "default cores");
	is_str(config_str(CFG_faults), "", "default faults is empty");
	is_str(config_str(CFG_cluster_id), "fffs", "default cluster_id");
	is_int(config_int(CFG_rpc_timeout_ms), 5000, "default rpc_timeout_ms");
	is_int(config_int(CFG_rpc_max_body), 1 << 20, "default rpc_max_body");
	is_str(config_str(CFG_rpc_max_bulk), "67108864",
	       "SIZE canonical text is bytes");
	ok(!config_bool(CFG_debug_faults), "default debug_faults false");
	is_str(config_str(CFG_debug_faults), "false", "BOOL canonical text");
	is_int(config_int(CFG_log_level), LOGL_INFO, "default log_level");
	is_str(config_str(CFG_log_level), "info", "ENUM text");
	is_int(log_level_cur, LOGL_INFO, "logger at info");
	is_int(config_find("ring_entries"), CFG_ring_entries, "config_find");
	is_int(config_find("nope"), -1, "config_find unknown");
}

static void test_int(void)
{
	set_ok("cores", "1", 1);
	set_ok("cores", "2", 2);
	set_ok("cores", "255", 255);
	set_ok("cores", "256", 256);
	set_ok("cores", "0x10", 16);
	set_ok("cores", "010", 10);
	set_bad("cores", "0", "below the minimum 1");
	set_bad("cores", "257", "above the maximum 256");
	set_bad("cores", "-1", "below the minimum 1");
	set_bad("cores", "12abc", "not an integer");
	set_bad("cores", "", "not an integer");
	set_bad("cores", " 5", "not an integer");
	set_bad("cores", "5 ", "not an integer");
	set_bad("cores", "+5", "not an integer");
	set_bad("cores", "0x", "not an integer");
	set_bad("cores", "4K", "not an integer");
	set_bad("cores", "99999999999999999999", "out of range");
	set_ok("node_id", "4294967295", 4294967295ll);
	set_ok("node_id", "0", 0);
	set_bad("node_id", "4294967296", "above the maximum 4294967295");
	config_set("rpc_timeout_ms", "-3", err, sizeof(err));
	is_str(err,
	       "config key 'rpc_timeout_ms': value '-3' is below the minimum 1",
	       "message text of a below-minimum value");
}

static void test_size(void)
{
	set_ok("rpc_max_body", "4096", 4096);
	set_ok("rpc_max_body", "4K", 4096);
	set_ok("rpc_max_body", "4097", 4097);
	set_ok("rpc_max_body", "1M", 1 << 20);
	set_ok("rpc_max_body", "1MB", 1 << 20);
	set_ok("rpc_max_body", "1MiB", 1 << 20);
	set_ok("rpc_max_body", "1m", 1 << 20);
	set_ok("rpc_max_body", "8192B", 8192);
	set_ok("rpc_max_body", "16777215", 16777215);
	set_ok("rpc_max_body", "16M", 16 << 20);
	set_bad("rpc_max_body", "4095", "below the minimum 4096");
	set_bad("rpc_max_body", "16777217", "above the maximum 16777216");
	set_bad("rpc_max_body", "1G", "above the maximum");
	set_bad("rpc_max_body", "8X", "not a size");
	set_bad("rpc_max_body", "K", "not a size");
	set_bad("rpc_max_body", "1MM", "not a size");
	set_bad("rpc_max_body", "0x1000", "not a size");
	set_bad("rpc_max_body", "9999999999T", "out of range");
	set_ok("rpc_max_bulk", "0", 0);
	set_ok("rpc_max_bulk", "1G", 1 << 30);
	set_ok("rpc_max_bulk", "1gib", 1 << 30);
	set_bad("rpc_max_bulk", "1T", "above the maximum 1073741824");
	set_bad("rpc_max_bulk", "-1", "below the minimum 0");
	config_set("rpc_max_bulk", "64M", err, sizeof(err));
	is_str(config_str(CFG_rpc_max_bulk), "67108864", "64M reads as bytes");
}

static void test_ms(void)
{
	set_ok("rpc_timeout_ms", "1", 1);
	set_ok("rpc_timeout_ms", "2", 2);
	set_ok("rpc_timeout_ms", "250ms", 250);
	set_ok("rpc_timeout_ms", "5s", 5000);
	set_ok("rpc_timeout_ms", "2m", 120000);
	set_ok("rpc_timeout_ms", "60m", 3600000);
	set_ok("rpc_timeout_ms", "3599999", 3599999);
	set_bad("rpc_timeout_ms", "0", "below the minimum 1");
	set_bad("rpc_timeout_ms", "3600001", "above the maximum 3600000");
	set_bad("rpc_timeout_ms", "61m", "above the maximum");
	set_bad("rpc_timeout_ms", "5h", "not a duration");
	set_bad("rpc_timeout_ms", "1.5s", "not a duration");
	set_bad("rpc_timeout_ms", "s", "not a duration");
	set_ok("shutdown_drain_ms", "0", 0);
	set_bad("shutdown_drain_ms", "-1ms", "below the minimum 0");
}

static void test_bool(void)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "On" };
	static const char *const no[] = { "false", "0", "no", "off", "FALSE" };

	for (size_t i = 0; i < FFFS_ARRAY_LEN(yes); i++) {
		set_ok("debug_faults", yes[i], 1);
		ok(config_bool(CFG_debug_faults), "config_bool true");
		is_str(config_str(CFG_debug_faults), "true", "canonical true");
		set_ok("debug_faults", no[i], 0);
		ok(!config_bool(CFG_debug_faults), "config_bool false");
	}
	set_bad("debug_faults", "maybe", "not a boolean");
	set_bad("debug_faults", "", "not a boolean");
	set_bad("debug_faults", "2", "not a boolean");
}

static void test_str(void)
{
	char s[1100];

	set_bad("cluster_id", "", "shorter than the minimum length 1");
	is_int(config_set("cluster_id", "a", err, sizeof(err)), 0, "1 char");
	is_str(config_str(CFG_cluster_id), "a", "cluster_id set");
	memset(s, 'x', 63);
	s[63] = 0;
	is_int(config_set("cluster_id", s, err, sizeof(err)), 0, "63 chars");
	s[63] = 'x';
	s[64] = 0;
	set_bad("cluster_id", s, "longer than the maximum length 63");
	is_int(config_set("faults", "", err, sizeof(err)), 0, "empty faults");
	memset(s, 'y', 1024);
	s[1024] = 0;
	is_int(config_set("faults", s, err, sizeof(err)), 0, "1024 chars");
	s[1024] = 'y';
	s[1025] = 0;
	set_bad("faults", s, "longer than the maximum length 1024");
	is_int(config_set("faults", "tcp://h:1", err, sizeof(err)), 0,
	       "faults set");
	is_str(config_str(CFG_faults), "tcp://h:1", "faults reads back");
}

static void test_enum(void)
{
	set_ok("log_level", "debug", LOGL_DEBUG);
	is_int(log_level_cur, LOGL_DEBUG, "log_level_cur follows log_level");
	set_ok("log_level", "error", LOGL_ERROR);
	is_int(log_level_cur, LOGL_ERROR, "log_level_cur at error");
	set_ok("log_level", "trace", LOGL_TRACE);
	is_str(config_str(CFG_log_level), "trace", "ENUM canonical text");
	set_bad("log_level", "loud", "not one of error|warn|info|debug|trace");
	set_bad("log_level", "inf", "not one of");
	set_bad("log_level", "infox", "not one of");
	is_int(log_level_cur, LOGL_TRACE, "refused value leaves the logger");
	config_reset();
	is_int(log_level_cur, LOGL_INFO, "config_reset restores the logger");
	is_int(config_int(CFG_cores), 1, "config_reset restores cores");
	is_str(config_str(CFG_faults), "", "config_reset restores faults");
}

static void test_keys(void)
{
	is_int(config_set("nope", "1", err, sizeof(err)), -FFFS_ECONFIG,
	       "unknown key refused");
	ok(strstr(err, "'nope'"), "error names the unknown key");
	is_int(config_set_kv("cores=4", err, sizeof(err)), 0, "kv accepted");
	is_int(config_int(CFG_cores), 4, "kv applied");
	is_int(config_set_kv("cores4", err, sizeof(err)), -FFFS_ECONFIG,
	       "kv without '=' refused");
	ok(strstr(err, "'cores4'") && strstr(err, "key=value"),
	   "error names the argument");
	is_int(config_set_kv("nope=1", err, sizeof(err)), -FFFS_ECONFIG,
	       "kv unknown key refused");
	ok(strstr(err, "'nope'"), "kv error names the key");
	is_int(config_set_kv("cores=", err, sizeof(err)), -FFFS_ECONFIG,
	       "kv empty number refused");
	ok(strstr(err, "'cores'"), "kv empty value error names the key");
	is_int(config_set_kv("=1", err, sizeof(err)), -FFFS_ECONFIG,
	       "kv empty key refused");
	is_int(config_set_kv("faults=tcp://a=b", err, sizeof(err)), 0,
	       "kv value may hold '='");
	is_str(config_str(CFG_faults), "tcp://a=b", "value after first '='");
	is_int(config_set_kv("cores=5", NULL, 0), 0, "NULL err is fine");
	is_int(config_set_kv("cores=0", NULL, 0), -FFFS_ECONFIG,
	       "NULL err, refused");
}

static void test_file_ok(void)
{
	char path[64];
	int rc;

	config_reset();
	rc = load_text("{\"cores\": 8, \"rpc_max_bulk\": \"128M\",\n"
		       " \"debug_faults\": true, \"log_level\": \"warn\",\n"
		       " \"faults\": \"tcp://0.0.0.0:8000\",\n"
		       " \"rpc_timeout_ms\": \"2s\", \"node_id\": 4294967295,\n"
		       " \"rpc_max_body\": 65536, \"rpc_reconnect_ms\": 1e3,\n"
		       " \"shutdown_drain_ms\": 0}\n",
		       path, sizeof(path));
	is_int(rc, 0, "good JSON file loads");
	if (rc)
		diag(err);
	is_int(config_int(CFG_cores), 8, "file: cores");
	is_int(config_int(CFG_rpc_max_bulk), 128 << 20, "file: size string");
	ok(config_bool(CFG_debug_faults), "file: JSON true");
	is_int(log_level_cur, LOGL_WARN, "file: log_level sets the logger");
	is_str(config_str(CFG_faults), "tcp://0.0.0.0:8000", "file: string");
	is_int(config_int(CFG_rpc_timeout_ms), 2000, "file: ms string");
	is_int(config_int(CFG_node_id), 4294967295ll, "file: big number");
	is_int(config_int(CFG_rpc_max_body), 65536, "file: size number");
	is_int(config_int(CFG_rpc_reconnect_ms), 1000, "file: 1e3");
	is_int(config_int(CFG_ring_entries), 1024, "file: others default");
	is_int(load_text("{}", path, sizeof(path)), 0, "empty object loads");
	is_int(load_text("{\"debug_faults\": \"off\"}", path, sizeof(path)), 0,
	       "file: boolean as string");
	ok(!config_bool(CFG_debug_faults), "file: \"off\" applied");
}

/* A bad file is refused naming the file and want, and applies nothing. */
static void file_bad(const char *text, const char *want, const char *name)
{
	char path[64], msg[256];
	char *before = config_dump_json(), *after;
	int rc;

	rc = load_text(text, path, sizeof(path));
	snprintf(msg, sizeof(msg), "%s: refused", name);
	is_int(rc, -FFFS_ECONFIG, msg);
	snprintf(msg, sizeof(msg), "%s: error names the file and '%s'", name,
		 want);
	if (!ok(strstr(err, path) && strstr(err, want), msg))
		diag(err);
	after = config_dump_json();
	snprintf(msg, sizeof(msg), "%s: nothing applied", name);
	is_str(after, before, msg);
	free(before);
	free(after);
}

static void test_file_bad(void)
{
	int rc;

	config_reset();
	file_bad("{\"cores\": 9, \"foo\": 1}", "unknown key 'foo'",
		 "unknown key");
	file_bad("{\"cores\": 9, \"faults\": 5}", "'faults'",
		 "number for a string");
	file_bad("{\"cores\": true, \"faults\": \"x\"}", "'cores'",
		 "boolean for a number");
	file_bad("{\"faults\": \"x\", \"debug_faults\": 1}", "'debug_faults'",
		 "number for a boolean");
	file_bad("{\"faults\": \"x\", \"log_level\": null}", "'log_level'",
		 "null for an enum");
	file_bad("{\"faults\": \"x\", \"cores\": [1]}", "'cores'",
		 "array for a number");
	file_bad("{\"faults\": \"x\", \"cores\": 1.5}", "'cores'",
		 "fraction for an integer");
	file_bad("{\"faults\": \"x\", \"cores\": 1e30}", "'cores'",
		 "huge number");
	file_bad("{\"log_level\": \"debug\", \"ring_entries\": 63}",
		 "'ring_entries'", "below the minimum");
	file_bad("{\"log_level\": \"debug\", \"ring_entries\": 32769}",
		 "above the maximum 32768", "above the maximum");
	file_bad("{\"cores\": 9, \"rpc_max_body\": \"1G\"}", "'rpc_max_body'",
		 "size string out of range");
	file_bad("{\"cores\": 9, \"cores\": 10}", "'cores' is given twice",
		 "duplicate key");
	file_bad("{\"cores\": 9,\n \"faults\": }\n",
		 "not valid JSON near line 2", "malformed JSON");
	file_bad("{\"cores\": 9} x", "not valid JSON", "trailing garbage");
	file_bad("", "not valid JSON", "empty file");
	file_bad("[1, 2]", "not an array", "top level array");
	is_int(log_level_cur, LOGL_INFO, "bad files left the logger alone");

	err[0] = 0;
	rc = config_load_file("/nonexistent/fffs.json", err, sizeof(err));
	is_int(rc, -ENOENT, "missing file gives -ENOENT");
	ok(strstr(err, "'/nonexistent/fffs.json'") &&
		   strstr(err, "No such file"),
	   "missing file error names the path and the reason");
	err[0] = 0;
	is_int(config_load_file("/tmp", err, sizeof(err)), -EISDIR,
	       "a directory gives -EISDIR");
}

static const char *const names[] = {
#define T_NAME(name, type, def, min, max, choices, help) #name,
	CONFIG_KEYS(T_NAME)
#undef T_NAME
};

/* Everything f-printer writes, as a malloc'd string. */
static char *capture(void (*print)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	FFFS_ASSERT(f != NULL);
	print(f);
	fclose(f);
	return buf;
}

static void test_output(void)
{
	char *troff = capture(config_print_troff);
	char *help = capture(config_print_help);
	int missing_t = 0, missing_h = 0, tp = 0;
	const char *p;

	for (size_t i = 0; i < FFFS_ARRAY_LEN(names); i++) {
		char want[128];

		snprintf(want, sizeof(want), ".TP\n\\fB%s\\fR (", names[i]);
		missing_t += !strstr(troff, want);
		missing_h += !strstr(help, names[i]);
	}
	is_int(missing_t, 0, "troff has a .TP tag for every key");
	is_int(missing_h, 0, "help names every key");
	for (p = troff; (p = strstr(p, ".TP\n")); p++)
		tp++;
	is_int(tp, CFG__COUNT, "one .TP per key");
	ok(strstr(troff, "(size, default 1M, range 4K..16M)"),
	   "troff tag shows type, default and range");
	ok(strstr(troff, "one of error|warn|info|debug|trace"),
	   "troff shows enum choices");
	ok(strstr(help, "error|warn|info|debug|trace") &&
		   strstr(help, "1ms..60m") && strstr(help, "0..10m") &&
		   strstr(help, "length 1..63"),
	   "help shows choices and ranges");
	for (p = troff; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (*p == '.' && strncmp(p, ".TP\n", 4))
			break;
	}
	ok(!p, "no troff line starts with a stray dot");
	free(troff);
	free(help);
}

static void test_dump_json(void)
{
	char *s;
	cJSON *j, *it;
	int missing = 0;

	config_reset();
	config_set_kv("cores=3", err, sizeof(err));
	config_set_kv("debug_faults=yes", err, sizeof(err));
	config_set_kv("rpc_max_body=2M", err, sizeof(err));
	s = config_dump_json();
	j = cJSON_Parse(s);
	ok(cJSON_IsObject(j), "dump_json parses back as an object");
	it = cJSON_GetObjectItemCaseSensitive(j, "cores");
	ok(cJSON_IsNumber(it) && it->valuedouble == 3, "cores is number 3");
	it = cJSON_GetObjectItemCaseSensitive(j, "rpc_max_body");
	ok(cJSON_IsNumber(it) && it->valuedouble == 2 << 20,
	   "size is a number of bytes");
	it = cJSON_GetObjectItemCaseSensitive(j, "debug_faults");
	ok(cJSON_IsTrue(it), "bool is JSON true");
	it = cJSON_GetObjectItemCaseSensitive(j, "log_level");
	ok(cJSON_IsString(it) && !strcmp(it->valuestring, "info"),
	   "enum is its word");
	it = cJSON_GetObjectItemCaseSensitive(j, "faults");
	ok(cJSON_IsString(it) && !strcmp(it->valuestring, ""),
	   "string is a string");
	is_int(cJSON_GetArraySize(j), CFG__COUNT, "one member per key");
	for (int k = 0; k < CFG__COUNT; k++)
		missing += !cJSON_GetObjectItemCaseSensitive(j, names[k]);
	is_int(missing, 0, "every key is dumped");
	cJSON_Delete(j);
	free(s);
}

/* The dump loaded as a config file gives the same configuration. */
static void test_round_trip(void)
{
	char path[64], *a, *b;

	config_reset();
	config_set_kv("rpc_timeout_ms=7s", err, sizeof(err));
	config_set_kv("cluster_id=lab", err, sizeof(err));
	a = config_dump_json();
	config_reset();
	is_int(load_text(a, path, sizeof(path)), 0, "dump loads as a file");
	b = config_dump_json();
	is_str(b, a, "dump, load, dump gives the same JSON");
	free(a);
	free(b);
}

int main(void)
{
	test_defaults();
	test_int();
	test_size();
	test_ms();
	test_bool();
	test_str();
	test_enum();
	test_keys();
	test_file_ok();
	test_file_bad();
	test_output();
	test_dump_json();
	test_round_trip();
	config_reset();
	return done_testing();
}
