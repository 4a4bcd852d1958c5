/* test_rules.c - include/exclude conditions and set overrides applied to
 * rows of the fake shop (tests/fake_shop.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_shop.h"
#include "jsonw.h"
#include "out.h"
#include "rules.h"
#include "util.h"
#include "value.h"

static struct rules *
compile(enum pf_rule_kind kind, const char *field, const char *text)
{
    struct pf_rule_text t = {kind, (char *)field, (char *)text, 7};
    struct rules *r = NULL;
    struct pf_err err = {""};

    if (rules_compile(&t, 1, "f.conf", &r, &err) != 0)
        fail_msg("'%s' did not compile: %s", text, err.msg);
    return r;
}

/* The decisions for products p1, p2, p3 as "kdk" (keep, drop). */
static void
decide(struct rules *r, const char *want)
{
    struct fake_shop f;
    struct tpl_data d;
    struct pf_arena a;
    struct pf_err err;
    char got[8];
    long i;

    fake_shop_init(&f, &d);
    pf_arena_init(&a);
    for (i = 0; i < 3; i++) {
        int rc = rules_apply(r, fake_shop_row(&f, "products", i), &a, &err);

        assert_true(rc == 0 || rc == 1);
        got[i] = rc ? 'k' : 'd';
    }
    got[3] = '\0';
    assert_string_equal(got, want);
    pf_arena_free(&a);
    fake_shop_free(&f);
    rules_free(r);
}

static void
test_conditions(void **state)
{
    (void)state;
    decide(compile(PF_RULE_INCLUDE, NULL, "product.name == Chair"), "kdd");
    decide(compile(PF_RULE_EXCLUDE, NULL, "product.name == Chair"), "dkk");
    decide(compile(PF_RULE_INCLUDE, NULL, "product.price >= 100"), "dkd");
    decide(compile(PF_RULE_INCLUDE, NULL, "product.tags == b"), "kdd");
    decide(compile(PF_RULE_EXCLUDE, NULL,
                   "product.id ~ ^p[12]$ or product.active == false"),
           "ddk");
}

/* Renders the row as JSON: it must end (no cycle) and hold want. */
static void
assert_renders(const struct pf_obj *row, const char *want)
{
    struct pf_value v = pf_v_obj((struct pf_obj *)row);
    struct pf_buf b;
    struct pf_out o;
    struct jsonw w;

    pf_buf_init(&b);
    pf_out_init_mem(&o, &b);
    jsonw_init(&w, &o);
    jsonw_value(&w, &v);
    assert_int_equal(pf_out_flush(&o, NULL), 0);
    if (!strstr(b.data, want))
        fail_msg("'%s' not in %s", want, b.data);
    jsonw_free(&w);
    pf_out_free(&o);
    pf_buf_free(&b);
}

/* A set whose value holds the object being set gets a copy from before
 * the set: the row never contains itself. */
static void
test_set_self(void **state)
{
    struct rules *self = compile(PF_RULE_SET, "variant.me", "{{variant}}");
    struct rules *parent = compile(PF_RULE_SET, "variant.p",
                                   "{{product}}");
    struct fake_shop f;
    struct tpl_data d;
    struct pf_arena a;
    struct pf_obj *row;
    struct pf_err err;

    (void)state;
    fake_shop_init(&f, &d);
    pf_arena_init(&a);
    row = fake_shop_row(&f, "variants", 0);
    assert_int_equal(rules_apply(self, row, &a, &err), 1);
    assert_renders(row, "\"me\":{\"id\":\"v1\",\"sku\":\"S1\"");
    /* The product's variants hold this very variant. */
    row = fake_shop_row(&f, "variants", 1);
    assert_int_equal(rules_apply(parent, row, &a, &err), 1);
    assert_renders(row, "\"p\":{\"id\":\"p1\",\"name\":\"Chair\"");
    pf_arena_free(&a);
    fake_shop_free(&f);
    rules_free(self);
    rules_free(parent);
}

static void
test_compile_errors(void **state)
{
    struct pf_rule_text t = {PF_RULE_INCLUDE, NULL, "product.price > x", 7};
    struct rules *r = NULL;
    struct pf_err err = {""};

    (void)state;
    assert_int_equal(rules_compile(&t, 1, "f.conf", &r, &err), -1);
    assert_non_null(strstr(err.msg, "f.conf:7: include: "));
    assert_non_null(strstr(err.msg, "not a number"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_set_self),
        cmocka_unit_test(test_compile_errors),
    };

    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
