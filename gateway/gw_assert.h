/*
 * gw_assert.h — always-on assertions for our own invariants (redis
 * serverAssert, TigerStyle): a money invariant that does not hold is a bug
 * of ours, and going on would write a wrong ledger. gw_assert() is never
 * compiled out (NDEBUG does not touch it): it logs file, line, function and
 * the expression, then aborts; the master restarts the worker and the open
 * transaction dies with the connection, so nothing half-done commits.
 *
 * Bad input from outside is a status, never an assertion.
 */
#ifndef GW_ASSERT_H
#define GW_ASSERT_H

/* Logs the failed assertion and aborts. Never returns. */
void gw_assert_fail(const char *expr, const char *file, int line,
                    const char *func) __attribute__((noreturn));

#define gw_assert(e)                                                           \
    (__builtin_expect(!!(e), 1)                                                \
         ? (void) 0                                                            \
         : gw_assert_fail(#e, __FILE__, __LINE__, __func__))

/* For status-returning functions whose result must be looked at. */
#define GW_MUST_CHECK __attribute__((warn_unused_result))

#endif /* GW_ASSERT_H */
