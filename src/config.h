/* config.h - posfeed.conf: INI sections [shop] [source] [sync] [feed NAME]
 * [serve], validated in full at load time.
 *
 * Ownership: pf_config_load() returns a struct pf_config that owns every
 * string and array reachable from it; pf_config_free() releases it all.
 * Secrets are never stored in the struct: only where to find them (a file
 * path or an environment variable name); pf_secret_read() fetches the value
 * when it is needed and the caller frees it.
 */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "timeutil.h"
#include "util.h"

enum pf_attr_mode { PF_ATTR_AUTO = 0, PF_ATTR_NONE };
enum pf_stock_tracking { PF_TRACK_VARIANTS = 0, PF_TRACK_PARENT };
enum pf_sched_kind { PF_SCHED_ON_DEMAND = 0, PF_SCHED_DAILY, PF_SCHED_EVERY };
/* AUTO: token when the template carries orders, customers or events
 * (feed_access() in feed.h), public for a catalog. */
enum pf_access { PF_ACCESS_AUTO = 0, PF_ACCESS_TOKEN, PF_ACCESS_PUBLIC };

struct pf_strlist {
    char **items;
    size_t n;
};
/* 1 if s is in the list (exact, case-sensitive). */
int pf_strlist_has(const struct pf_strlist *l, const char *s);

/* Where a secret lives: KEY_file = path (resolved against the config
 * folder) or KEY = env:VAR. Both NULL when not configured. */
struct pf_secret {
    char *file;
    char *env;
    int line;               /* where the config set it, for messages */
};
int pf_secret_is_set(const struct pf_secret *s);
/* Reads the secret (trailing newline stripped). Caller frees *out. The
 * error names the file or variable, never the value. */
int pf_secret_read(const struct pf_secret *s, char **out, struct pf_err *err);

/* The sync settings merchants know from the Clerk.io Lightspeed
 * integration. [sync] sets them; a [feed NAME] may override each one. */
struct pf_sync_settings {
    enum pf_attr_mode attributes;          /* attributes = auto|none */
    struct pf_strlist custom_attributes;   /* names, as written */
    int lookback_all;                      /* orders_lookback = all */
    int lookback_n;                        /* else N ... */
    enum pf_span_unit lookback_unit;       /* ... days|months|years */
    struct pf_strlist accepted_order_statuses; /* empty = all statuses */
    int include_out_of_stock;
    int collect_emails;
    int include_customers;
    int include_variants;
    int include_variant_stock;
    enum pf_stock_tracking variant_stock_tracking;
    int include_hidden_categories;
    /* Issue 10; every source may honour them (docs/configuration.md says
     * which do). ratings: rating/rating_count per product from visible
     * reviews; pages: the pages collection; free_products = 0 leaves out
     * products whose every variant sells at 0. */
    int include_ratings;
    int include_pages;
    int include_free_products;
};

struct pf_schedule {
    enum pf_sched_kind kind;
    int hour, minute;       /* daily HH:MM, shop timezone */
    long interval_s;        /* every N minutes|hours */
};

struct pf_feed_cfg {
    char *name;
    char *template_spec;    /* as written: built-in name or path */
    char *template_path;    /* resolved absolute/relative-to-cwd path */
    char *output;           /* relative to feeds_dir, never escapes it */
    int gzip;               /* default yes */
    enum pf_access access;
    double max_drop;        /* 0.5 = refuse a drop of more than 50% */
    struct pf_sync_settings sync;
    /* Split into parts of at most this many bytes (0: never), each a
     * whole document, with OUTPUT.parts.json listing them (names.h). */
    int64_t max_file_size;
    int max_file_size_set;  /* given in the file (else a default) */
    int ndjson;             /* format = ndjson: one row per line */
    /* include / exclude / set.FIELD, as written (see rules.h) */
    struct pf_rule_text *rules;
    size_t nrules;
    int line;               /* line of the [feed NAME] header */
};

/* ---- [source]: generic, described by the type's key table ------------
 *
 * config knows no source by name. Each source type (source.h) brings a
 * table of its [source] keys; the loader validates what the file says
 * against the table of the type it names and keeps the parsed values,
 * which the source reads with the pf_source_* accessors below. */
enum pf_key_kind {
    PF_KEY_TEXT,        /* not empty */
    PF_KEY_URL,         /* http(s)://, trailing slashes dropped */
    PF_KEY_PATH,        /* resolved against the config folder */
    PF_KEY_DIR,         /* a PATH that must be an existing folder */
    PF_KEY_SECRET,      /* KEY = env:VAR or KEY_file = PATH */
    PF_KEY_INT,         /* whole number in [min, max] */
    PF_KEY_SECONDS,     /* whole seconds in [min, max] */
    PF_KEY_FRACTION,    /* 25% or 0.25 */
    PF_KEY_SIZE,        /* 16M, 512K, 1G or bytes; [min, max] bytes */
    PF_KEY_CHOICE,      /* one of choices */
    PF_KEY_BOOL         /* yes/no/true/false/1/0/on/off */
};

struct pf_key_def {
    const char *name;
    enum pf_key_kind kind;
    int required;
    const char *const *choices;   /* PF_KEY_CHOICE, NULL-terminated */
    long min, max;                /* INT/SECONDS/SIZE; both 0 = no bound */
    const char *dflt;             /* default, written as in the file */
};

struct pf_source_cfg;

/* What the loader needs of a source type. */
struct pf_source_schema {
    const char *name;                   /* [source] type = NAME */
    const struct pf_key_def *keys;      /* {NULL}-terminated */
    /* Cross-key checks once the keys are read and the table's defaults
     * applied; NULL = none. On error *line is the line to blame (0 =
     * the [source] header). */
    int (*finish)(struct pf_source_cfg *s, int *line, struct pf_err *err);
};

/* The loader's view of the source registry (source.h's source_schema):
 * fills *out with the i-th type and returns 1, or returns 0 past the
 * last. */
typedef int pf_source_types_fn(size_t i, struct pf_source_schema *out);

/* One key's parsed value; which member is used depends on its kind. */
struct pf_source_val {
    char *text;             /* TEXT URL PATH DIR CHOICE */
    long num;               /* INT SECONDS BOOL */
    double frac;            /* FRACTION */
    int64_t size;           /* SIZE */
    struct pf_secret secret;/* SECRET */
    int set;                /* given or defaulted */
    int line;               /* where the file set it; 0 = not there */
};

struct pf_source_cfg {
    char *type;                     /* type = NAME, as written */
    struct pf_source_schema schema; /* that type's */
    struct pf_source_val *vals;     /* parallel to schema.keys */
    const char *dir;                /* the config folder (borrowed) */
    int line;                       /* the [source] header */
};

/* Values of [source] keys. Asking for a key the type's table lacks, or
 * with the accessor of another kind, is a programming error: abort()
 * with a message. pf_source_str: TEXT/URL/PATH/DIR/CHOICE, NULL unset;
 * pf_source_long: INT/SECONDS/BOOL, 0 unset. */
const char *pf_source_str(const struct pf_source_cfg *s, const char *key);
long pf_source_long(const struct pf_source_cfg *s, const char *key);
double pf_source_frac(const struct pf_source_cfg *s, const char *key);
int64_t pf_source_size(const struct pf_source_cfg *s, const char *key);
const struct pf_secret *pf_source_secret(const struct pf_source_cfg *s,
                                         const char *key);
/* The line that set key; 0 = not in the file (a default or unset). */
int pf_source_line(const struct pf_source_cfg *s, const char *key);
/* 1 if the type's table has key (for generic readers such as status). */
int pf_source_has(const struct pf_source_cfg *s, const char *key);
/* For a finish function: sets key as if the file said value (a default
 * that depends on another key). The line stays 0. -1 with err for a value
 * its kind refuses. */
int pf_source_set(struct pf_source_cfg *s, const char *key,
                  const char *value, struct pf_err *err);

struct pf_serve_cfg {
    char *listen_addr;      /* default 127.0.0.1 */
    int port;               /* default 8080 */
    struct pf_secret token;
    int max_connections;    /* default 1024 */
    int per_ip_limit;       /* default 8 */
    int timeout_s;          /* idle; default 30 */
    int header_timeout_s;   /* a whole request; default 10 */
    /* HTTPS (serve.c): PEM files, resolved against the config's folder;
     * both or neither. NULL = plain HTTP. */
    char *tls_cert, *tls_key;
    int tls_cert_line, tls_key_line;
    /* Clerk.io JSON Feed V2 live endpoints (serve_clerk.c) */
    int clerk_v2;           /* clerk_v2 = yes; default no */
    char *clerk_public_key; /* the store's public key, for token/verify */
    char *clerk_verify_url; /* default https://api.clerk.io/v2/token/verify */
    int clerk_token_ttl_s;  /* how long a verified token is trusted;
                             * default 300, 0 = ask every time */
    int clerk_page_base;    /* the number of the first page: 0 (default,
                             * as the official extensions) or 1 */
    int clerk_slack_s;      /* modified_after is moved back by this much,
                             * for clocks that disagree; default 120 */
    int clerk_v2_line;      /* the clerk_v2 line, for messages */
    /* Many shops (serve_shops.c). shops_dir set makes this a server
     * config: only [serve], each shop in DIR/NAME.conf. */
    char *shops_dir;        /* resolved against the config's folder */
    int workers;            /* runs at once; 0 = online cores */
    int64_t jitter_s;       /* spread of due schedules; default 900 */
    int64_t run_timeout_s;  /* a run is stopped after; 0 = not set */
    int workers_line, jitter_line;
};

/* [push klaviyo]: events and profiles delivered through Klaviyo's API
 * (push_klaviyo.c). The metrics are the klaviyo-events feed's. */
#define PF_KLAVIYO_REVISION "2026-10-15"   /* newest revision tested */
enum {
    PF_PUSH_PLACED = 1, PF_PUSH_ORDERED = 2, PF_PUSH_REFUNDED = 4,
    PF_PUSH_SHIPPED = 8
};
struct pf_push_klaviyo {
    int set;                /* the section is in the file */
    int line;               /* its header line, for messages */
    char *api_url;          /* default https://a.klaviyo.com */
    struct pf_secret api_key;   /* api_key = env:VAR / api_key_file */
    char *revision;         /* default PF_KLAVIYO_REVISION */
    unsigned events;        /* PF_PUSH_* bits; default all four */
    int profiles;           /* profiles = yes (default) | no */
    char *list;             /* list id new profiles join; NULL = none */
    int since_n;            /* since = N days|months|years (default 90
                             * days), never beyond [sync] orders_lookback */
    enum pf_span_unit since_unit;
    int since_capped;       /* since reached beyond orders_lookback and
                             * was cut to it (check and push say so) */
    /* events_feed / profiles_feed = NAME: the [feed NAME] whose template,
     * rules and settings define what is pushed; NULL = the built-in
     * klaviyo-events / klaviyo-profiles template with [sync]'s settings */
    char *events_feed, *profiles_feed;
    int events_feed_line, profiles_feed_line;
};

/* [publish]: after a run publishes locally, its files are uploaded to an
 * S3-compatible bucket (publish_s3.c). set == 0 (no section): local only.
 * Secrets are only located here, read at upload time. */
#define PF_S3_CACHE_PUBLIC "public, max-age=300"
#define PF_S3_CACHE_PRIVATE "private, no-store"
struct pf_publish_cfg {
    int set;                /* the section is in the file */
    int line;               /* its header line, for messages */
    char *bucket;           /* url = s3://BUCKET/PREFIX */
    char *prefix;           /* "" or "a/b/": always ends with '/' */
    char *endpoint;         /* scheme://host[:port], no trailing '/';
                             * default https://s3.REGION.amazonaws.com */
    char *region;           /* default us-east-1 */
    struct pf_secret access_key, secret_key;
    char *cache_control;    /* public feeds; default PF_S3_CACHE_PUBLIC */
    int path_style;         /* ENDPOINT/BUCKET/KEY; else BUCKET.host */
    int private_feeds;      /* upload access = token feeds too */
    int retries;            /* extra attempts per request; default 4 */
    int url_line, path_style_set;   /* for the checks after the file */
};

struct pf_config {
    char *path;             /* the config file as given */
    char *dir;              /* its folder: base for relative paths */
    /* [shop] */
    char *shop_name;
    char *timezone;
    char *currency;
    char *shop_url;
    char *store_path;       /* resolved */
    char *feeds_dir;        /* resolved */
    /* [source] */
    struct pf_source_cfg source;
    /* [sync] */
    struct pf_sync_settings sync;
    struct pf_schedule schedule;
    /* [feed NAME], in file order */
    struct pf_feed_cfg *feeds;
    size_t nfeeds;
    /* [serve] */
    struct pf_serve_cfg serve;
    /* [push klaviyo] */
    struct pf_push_klaviyo klaviyo;
    /* [publish] */
    struct pf_publish_cfg publish;
};

/* Loads and validates path; [source] type must be one of the types
 * types() lists (source.h: source_schema), whose tables validate the
 * rest of [source]. On error returns -1 with err holding "FILE:LINE:
 * message" (with a did-you-mean for misspelt keys and sections). */
int pf_config_load(const char *path, pf_source_types_fn *types,
                   struct pf_config **out, struct pf_err *err);
/* pf_config_load() for one shop's file under a server config's shops
 * folder: the server-wide [serve] keys (listen, tls_*, max_connections,
 * per_ip_limit, timeout, header_timeout, shops, workers, jitter,
 * run_timeout) are refused with FILE:LINE, and so is a file that is a
 * server config itself. */
int pf_config_load_shop(const char *path, pf_source_types_fn *types,
                        struct pf_config **out, struct pf_err *err);
/* A server config with the defaults and [serve] shops = shops_dir, for
 * `serve --shops DIR` without a config file. */
struct pf_config *pf_config_server(const char *shops_dir);
/* 1 if key is a [serve] key that only a server config may set. */
int pf_config_server_key(const char *key);
void pf_config_free(struct pf_config *c);
/* For `posfeed check`: every secret file the config names ([serve] and
 * the [source] type's secret keys) exists and can be read (a secret is
 * read, checked not empty and dropped; nothing of it is shown). Errors
 * read "FILE:LINE: [section] key: ...". A secret from env: is not checked
 * here: check may run in another environment than serve (see
 * pf_secret_env_missing). */
int pf_config_check_files(const struct pf_config *c, struct pf_err *err);
/* 1 if s is env:VAR and VAR is not set (or empty) in this process. */
int pf_secret_env_missing(const struct pf_secret *s);
const struct pf_feed_cfg *pf_config_feed(const struct pf_config *c,
                                         const char *name);

/* The feed that publishes file (a path under feeds_dir: an output, a
 * twin, a part or an index), or NULL. */
const struct pf_feed_cfg *pf_config_file_owner(const struct pf_config *c,
                                               const char *file);

/* Resolves a template spec: a name without '/' and without an extension
 * is a built-in (templates/NAME.json or .xml in the templates folder),
 * anything else a path relative to the config folder. Caller frees. */
char *pf_template_resolve(const char *spec, const char *config_dir);
/* The built-in templates folder: $POSFEED_TEMPLATES, else templates/ next
 * to the executable, else the installed data folder. */
const char *pf_templates_dir(void);

/* The source folder the starter config names (path = data), which
 * pf_config_write_starter() creates beside it. */
#define PF_STARTER_DATA_DIR "data"
/* Writes a commented starter config to dir/posfeed.conf (refuses to
 * overwrite) and creates dir/PF_STARTER_DATA_DIR, empty, so the starter
 * loads and checks as written. An existing data folder is kept as is. */
int pf_config_write_starter(const char *dir, struct pf_err *err);

#endif
