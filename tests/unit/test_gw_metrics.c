/*
 * test_gw_metrics.c — the metric naming rules gw_metrics_register enforces
 * (one prefix, _total counters, base units, no fake _sum/_count), histogram
 * rendering (cumulative buckets in seconds) and the worker process view.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw_metrics.h"

static int counter, gauge, hist;

/* Registration happens before init: the table is fixed at init. */
static void
test_register_rules(void **state)
{
    (void) state;
    /* Each of these once slipped into /metrics and failed promtool. */
    assert_int_equal(gw_metrics_register("vas_x_total", "h", GW_METRIC_COUNTER),
                     -1); /* second prefix */
    assert_int_equal(gw_metrics_register("vasgw_x", "h", GW_METRIC_COUNTER),
                     -1); /* counter without _total */
    assert_int_equal(
        gw_metrics_register("vasgw_latency_ms_sum", "h", GW_METRIC_COUNTER),
        -1); /* abbreviated unit, fake histogram part */
    assert_int_equal(
        gw_metrics_register("vasgw_rows_total", "h", GW_METRIC_GAUGE),
        -1); /* _total on a gauge */
    assert_int_equal(
        gw_metrics_register("vasgw_wait", "h", GW_METRIC_HISTOGRAM),
        -1); /* a duration histogram is in _seconds */

    counter = gw_metrics_register("vasgw_things_total", "h", GW_METRIC_COUNTER);
    gauge = gw_metrics_register("vasgw_things", "h", GW_METRIC_GAUGE);
    hist = gw_metrics_register("vasgw_wait_seconds", "h", GW_METRIC_HISTOGRAM);
    assert_true(counter >= 0 && gauge >= 0 && hist >= 0);
    assert_int_equal(
        gw_metrics_register("vasgw_things_total", "h", GW_METRIC_COUNTER),
        counter); /* the same name: the same cell */
}

static int
count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    return n;
}

static void
test_render_histogram_and_view(void **state)
{
    struct gw_buf out = {0};
    char          line[128];
    int           row;

    (void) state;
    assert_int_equal(gw_metrics_init(0), 0);
    assert_int_equal(
        gw_metrics_register("vasgw_late_total", "h", GW_METRIC_COUNTER),
        -1); /* after init: the layout is fixed */
    gw_metrics_add(counter, 3);
    gw_metrics_set(gauge, 7);
    gw_metrics_observe_us(hist, 100);     /* first bucket (0.25 ms) */
    gw_metrics_observe_us(hist, 3000000); /* above every bound */
    row = gw_metrics_worker_claim(getpid(), 4, 1);
    assert_true(row >= 0);
    gw_metrics_worker_busy(row, 1);
    gw_metrics_worker_busy(row, -1);
    gw_metrics_proc_add(GW_PROC_RECYCLES, 2);

    assert_int_equal(gw_metrics_render(&out), 0);
    assert_non_null(strstr(out.data, "vasgw_things_total 3\n"));
    assert_non_null(strstr(out.data, "vasgw_things 7\n"));
    assert_non_null(strstr(out.data, "# TYPE vasgw_wait_seconds histogram\n"));
    assert_non_null(
        strstr(out.data, "vasgw_wait_seconds_bucket{le=\"0.00025\"} 1\n"));
    assert_non_null(
        strstr(out.data, "vasgw_wait_seconds_bucket{le=\"2.5\"} 1\n"));
    assert_non_null(
        strstr(out.data, "vasgw_wait_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(out.data, "vasgw_wait_seconds_count 2\n"));
    assert_non_null(strstr(out.data, "vasgw_worker_recycles_total 2\n"));
    assert_non_null(
        strstr(out.data, "vasgw_worker_threads{state=\"idle\"} 4\n"));
    snprintf(line, sizeof(line), "vasgw_worker_requests{pid=\"%d\"} 1\n",
             (int) getpid());
    assert_non_null(strstr(out.data, line));
    assert_non_null(strstr(out.data, "vasgw_build_info{version=\""));
    /* One TYPE line per family, never two. */
    assert_int_equal(count_of(out.data, "# TYPE vasgw_worker_requests "), 1);
    gw_buf_free(&out);

    gw_metrics_worker_gone(getpid());
    memset(&out, 0, sizeof(out));
    assert_int_equal(gw_metrics_render(&out), 0);
    assert_null(strstr(out.data, line));
    assert_non_null(
        strstr(out.data, "vasgw_worker_processes{state=\"active\"} 0\n"));
    gw_buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_rules),
        cmocka_unit_test(test_render_histogram_and_view),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
