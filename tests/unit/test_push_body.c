/* Unit tests: push_body.c - the JSON:API bodies of Klaviyo's bulk
 * endpoints (events grouped per profile, consent only as properties, the
 * list only when given) and the mapping of an error's pointer back to
 * the item it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "push_int.h"

static void
add(struct push_batch *b, const char *id, const char *grp, const char *body)
{
    struct push_item *it;

    b->items = realloc(b->items, (b->n + 1) * sizeof(*b->items));
    it = &b->items[b->n++];
    it->id = (char *)id;
    it->grp = (char *)grp;
    it->metric = (char *)"Placed Order";
    it->body = (char *)body;
    it->len = strlen(body);
}

static const char ev[] =
    "{\"unique_id\":\"%s\",\"metric\":\"Placed Order\",\"profile\":"
    "{\"email\":\"a@x.com\"},\"anonymous\":false,\"time\":"
    "\"2026-11-01T10:00:00Z\",\"time_local\":\"x\",\"value\":10.5,"
    "\"value_currency\":\"EUR\",\"properties\":{\"OrderId\":\"o1\"}}";

/* Three events of two profiles: a@ (2), b@ (1). */
static void
three(struct push_batch *b)
{
    memset(b, 0, sizeof(*b));
    add(b, "e1", "a@x.com", ev);
    add(b, "e2", "a@x.com", ev);
    add(b, "e3", "b@x.com", ev);
}

static void
test_events_grouped_per_profile(void **state)
{
    struct push_batch b;
    size_t len = 0;
    char *body;
    cJSON *doc, *groups, *g0;

    (void)state;
    three(&b);
    body = push_events_body(&b, &len);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    doc = cJSON_Parse(body);
    groups = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(doc, "data"), "attributes"),
        "events-bulk-create"), "data");
    assert_int_equal(cJSON_GetArraySize(groups), 2);
    g0 = cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 0), "attributes");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
        cJSON_GetObjectItem(g0, "events"), "data")), 2);
    /* only the event's documented attributes: no anonymous, time_local */
    assert_null(strstr(body, "anonymous"));
    assert_null(strstr(body, "time_local"));
    assert_non_null(strstr(body, "\"metric\":{\"data\":{\"type\":\"metric\","
                               "\"attributes\":{\"name\":\"Placed Order\"}"));
    cJSON_Delete(doc);
    cJSON_free(body);
    free(b.items);
}

static void
test_event_pointers(void **state)
{
    struct push_batch b;
    int whole = -1;
    static const char *const p =
        "/data/attributes/events-bulk-create/data/";

    char buf[160];

    (void)state;
    three(&b);

    snprintf(buf, sizeof(buf), "%s0/attributes/events/data/1/attributes/"
             "value", p);
    assert_int_equal(push_event_pointer_item(&b, buf, &whole), 1);
    assert_int_equal(whole, 0);
    snprintf(buf, sizeof(buf), "%s1/attributes/events/data/0/attributes/"
             "time", p);
    assert_int_equal(push_event_pointer_item(&b, buf, &whole), 2);
    /* the profile of group 1: its first event, the whole group */
    snprintf(buf, sizeof(buf), "%s1/attributes/profile/data/attributes/"
             "email", p);
    assert_int_equal(push_event_pointer_item(&b, buf, &whole), 2);
    assert_int_equal(whole, 1);
    /* nothing we sent */
    snprintf(buf, sizeof(buf), "%s2/attributes/events/data/0", p);
    assert_int_equal(push_event_pointer_item(&b, buf, &whole), -1);
    snprintf(buf, sizeof(buf), "%s0/attributes/events/data/5", p);
    assert_int_equal(push_event_pointer_item(&b, buf, &whole), -1);
    assert_int_equal(push_event_pointer_item(&b, "/data", &whole), -1);
    assert_int_equal(push_event_pointer_item(&b, NULL, &whole), -1);
    free(b.items);
}

static void
test_profiles_body(void **state)
{
    struct push_batch b;
    size_t len = 0;
    char *body;

    (void)state;
    memset(&b, 0, sizeof(b));
    add(&b, "a@x.com", "", "{\"email\":\"a@x.com\",\"subscribed\":true,"
        "\"consent\":true,\"first_name\":\"A\"}");
    body = push_profiles_body(&b, NULL, &len);
    /* consent only as properties; no list without one */
    assert_non_null(strstr(body, "\"properties\":{\"subscribed\":true,"
                                 "\"consent\":true}"));
    assert_null(strstr(body, "relationships"));
    cJSON_free(body);
    body = push_profiles_body(&b, "L1", &len);
    assert_non_null(strstr(body, "\"relationships\":{\"lists\":{\"data\":"
                                 "[{\"type\":\"list\",\"id\":\"L1\"}]}}"));
    cJSON_free(body);
    assert_int_equal(push_profile_pointer_item(
        &b, "/data/attributes/profiles/data/0/attributes/email"), 0);
    assert_int_equal(push_profile_pointer_item(
        &b, "/data/attributes/profiles/data/1/attributes/email"), -1);
    free(b.items);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_grouped_per_profile),
        cmocka_unit_test(test_event_pointers),
        cmocka_unit_test(test_profiles_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
