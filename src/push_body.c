/* push_body.c - the JSON:API bodies of Klaviyo's bulk endpoints, built
 * from ledger rows (the template's rows), and the reverse: which item of
 * a body an error's source pointer names. See push_int.h. */
#include "push_int.h"

#include <stdlib.h>
#include <string.h>

/* Moves member name of from into to (under the same name), if present. */
static void
move_member(cJSON *from, cJSON *to, const char *name, const char *as)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(from, name);

    if (v != NULL)
        cJSON_AddItemToObject(to, as ? as : name, v);
}

static cJSON *
typed(const char *type, cJSON *attributes)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddItemToObject(o, "attributes", attributes);
    return o;
}

/* {"data": x} */
static cJSON *
data_of(cJSON *x)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "data", x);
    return o;
}

/* One event row as an event resource: properties, time, value,
 * value_currency, unique_id and the metric by name. */
static cJSON *
event_resource(cJSON *row)
{
    cJSON *a = cJSON_CreateObject();
    cJSON *metric = cJSON_CreateObject();
    cJSON *props = cJSON_DetachItemFromObjectCaseSensitive(row,
                                                           "properties");

    if (!cJSON_IsObject(props)) {
        cJSON_Delete(props);
        props = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(a, "properties", props);
    move_member(row, a, "time", NULL);
    move_member(row, a, "value", NULL);
    move_member(row, a, "value_currency", NULL);
    move_member(row, a, "unique_id", NULL);
    move_member(row, metric, "metric", "name");
    cJSON_AddItemToObject(a, "metric", data_of(typed("metric", metric)));
    return typed("event", a);
}

/* The profile an event row names, as a profile resource. */
static cJSON *
event_profile(cJSON *row)
{
    cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(row, "profile");

    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        p = cJSON_CreateObject();
    }
    return data_of(typed("profile", p));
}

/* The profile a group of events belongs to, and its events list. */
static cJSON *
new_group(cJSON *list, cJSON *row, cJSON **events)
{
    cJSON *a = cJSON_CreateObject();

    cJSON_AddItemToObject(a, "profile", event_profile(row));
    *events = cJSON_CreateArray();
    cJSON_AddItemToObject(a, "events", data_of(*events));
    cJSON_AddItemToArray(list, typed("event-bulk-create", a));
    return a;
}

char *
push_events_body(const struct push_batch *b, size_t *len)
{
    cJSON *list = cJSON_CreateArray(), *events = NULL, *a, *root;
    const char *grp = NULL;
    char *out;

    for (size_t i = 0; i < b->n; i++) {
        cJSON *row = cJSON_Parse(b->items[i].body);

        if (row == NULL)
            row = cJSON_CreateObject();
        /* Rows come in (grp, id) order: one entry per profile. */
        if (grp == NULL || strcmp(grp, b->items[i].grp) != 0 ||
            b->items[i].grp[0] == '\0')
            new_group(list, row, &events);
        grp = b->items[i].grp;
        cJSON_AddItemToArray(events, event_resource(row));
        cJSON_Delete(row);
    }
    a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "events-bulk-create", data_of(list));
    root = data_of(typed("event-bulk-create-job", a));
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    *len = out ? strlen(out) : 0;
    return out;
}

/* One profile row as profile attributes: the consent fields the template
 * carries become properties, never a subscription. */
static cJSON *
profile_resource(cJSON *row)
{
    static const char *const as_props[] = {"subscribed", "consent", NULL};
    cJSON *props = cJSON_DetachItemFromObjectCaseSensitive(row,
                                                           "properties");

    if (!cJSON_IsObject(props)) {
        cJSON_Delete(props);
        props = cJSON_CreateObject();
    }
    for (int i = 0; as_props[i]; i++)
        move_member(row, props, as_props[i], NULL);
    if (cJSON_GetArraySize(props) > 0)
        cJSON_AddItemToObject(row, "properties", props);
    else
        cJSON_Delete(props);
    return typed("profile", row);
}

char *
push_profiles_body(const struct push_batch *b, const char *list_id,
                   size_t *len)
{
    cJSON *profiles = cJSON_CreateArray(), *a, *job, *root;
    char *out;

    for (size_t i = 0; i < b->n; i++) {
        cJSON *row = cJSON_Parse(b->items[i].body);

        if (row == NULL)
            row = cJSON_CreateObject();
        cJSON_AddItemToArray(profiles, profile_resource(row));
    }
    a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "profiles", data_of(profiles));
    job = typed("profile-bulk-import-job", a);
    /* Membership only, and only when the merchant asked for it. */
    if (list_id != NULL) {
        cJSON *rel = cJSON_CreateObject(), *l = cJSON_CreateObject();
        cJSON *arr = cJSON_CreateArray();

        cJSON_AddStringToObject(l, "type", "list");
        cJSON_AddStringToObject(l, "id", list_id);
        cJSON_AddItemToArray(arr, l);
        cJSON_AddItemToObject(rel, "lists", data_of(arr));
        cJSON_AddItemToObject(job, "relationships", rel);
    }
    root = data_of(job);
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    *len = out ? strlen(out) : 0;
    return out;
}

/* The number after prefix in p ("/data/3/..." -> 3), or -1. */
static long
index_after(const char *p, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    char *end;
    long v;

    if (p == NULL || strncmp(p, prefix, n) != 0 || p[n] < '0' ||
        p[n] > '9')
        return -1;
    v = strtol(p + n, &end, 10);
    if (rest != NULL)
        *rest = end;
    return v;
}

/* Events: "/data/attributes/events-bulk-create/data/G/attributes/events/
 * data/E/..." names the E-th event of the G-th profile group; a pointer
 * into the group's profile names the group's first event (the whole
 * group is refused with it: see push_klaviyo.c). */
long
push_event_pointer_item(const struct push_batch *b, const char *pointer,
                        int *whole_group)
{
    const char *rest = NULL;
    long g = index_after(pointer, "/data/attributes/events-bulk-create/"
                         "data/", &rest), e, gi = -1;
    const char *grp = NULL;

    *whole_group = 0;
    if (g < 0)
        return -1;
    e = index_after(rest, "/attributes/events/data/", NULL);
    if (e < 0)
        *whole_group = 1;
    for (size_t i = 0; i < b->n; i++) {
        if (grp == NULL || strcmp(grp, b->items[i].grp) != 0 ||
            b->items[i].grp[0] == '\0') {
            gi++;
            grp = b->items[i].grp;
            if (gi == g && *whole_group)
                return (long)i;
        }
        if (gi == g && e-- == 0)
            return (long)i;
        if (gi > g)
            break;
    }
    return -1;
}

/* Profiles: "/data/attributes/profiles/data/N/..." */
long
push_profile_pointer_item(const struct push_batch *b, const char *pointer)
{
    long n = index_after(pointer, "/data/attributes/profiles/data/", NULL);

    return n >= 0 && (size_t)n < b->n ? n : -1;
}
