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

enum pf_source_type {
    PF_SRC_FILE = 0,
    PF_SRC_LIGHTSPEED_RETAIL,
    PF_SRC_LIGHTSPEED_ECOM,
    PF_SRC_DUTCHIE
};

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

struct pf_source_cfg {
    enum pf_source_type type;
    char *path;             /* file source: folder of NDJSON files */
    char *api_url;          /* remote sources */
    char *token_url;
    char *account_id;
    char *client_id;
    struct pf_secret client_secret;
    char *refresh_token_file;
    /* lightspeed-retail: image transformation ("w_800", none = original),
     * per-request timeout and the total time a run may spend retrying. */
    char *image_size;
    long timeout_s;         /* default 60 */
    long retry_time_s;      /* default 300 */
    /* file: the share of a table one file may remove before it is held
     * back (default 25%), and the longest line read (default 16M). */
    double max_drop;
    int64_t max_line;
};

struct pf_serve_cfg {
    char *listen_addr;      /* default 127.0.0.1 */
    int port;               /* default 8080 */
    struct pf_secret token;
    int max_connections;    /* default 1024 */
    int per_ip_limit;       /* default 8 */
    int timeout_s;          /* idle; default 30 */
    int header_timeout_s;   /* a whole request; default 10 */
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
    int refresh_token_line; /* [source] refresh_token_file, for check */
};

/* Loads and validates path. On error returns -1 with err holding
 * "FILE:LINE: message" (with a did-you-mean for misspelt keys and
 * sections). */
int pf_config_load(const char *path, struct pf_config **out,
                   struct pf_err *err);
void pf_config_free(struct pf_config *c);
/* For `posfeed check`: every secret file and the refresh token file the
 * config names exists and can be read (a secret is read, checked not
 * empty and dropped; nothing of it is shown). Errors read "FILE:LINE:
 * [section] key: ...". A secret from env: is not checked here: check may
 * run in another environment than serve (see pf_secret_env_missing). */
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
