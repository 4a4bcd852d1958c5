/* status.h - what posfeed has done, as one JSON document: last runs with
 * rows per stream and warnings, store counts, bookmarks and published
 * feeds. `posfeed status` prints it (as text or JSON) and the server
 * serves it, so the two never disagree.
 *
 * Ownership: the caller frees the document with cJSON_Delete().
 */
#ifndef PF_STATUS_H
#define PF_STATUS_H

#include <cjson/cJSON.h>

#include "config.h"
#include "store.h"

cJSON *status_doc(const struct pf_config *cfg, struct store *s);

#endif
