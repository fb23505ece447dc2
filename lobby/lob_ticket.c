/*
 * lob_ticket.c — a started lobby member's personal ticket for the game
 * server, verifiable offline with the shared secret.
 *
 * HMAC-SHA256 rather than Ed25519: the game providers' servers already
 * share a secret with us per deployment (as content providers do for
 * webhooks), HMAC needs no new key format, and verification is one call in
 * any language. Layout (like a JWT without a header, so nobody can pick
 * "alg": none): base64url(payload) "." base64url(HMAC-SHA256(secret,
 * base64url(payload))). The payload binds lobby, match, user and server
 * and carries an expiry; see README "Lobbies" for a verifier.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "gw_status.h"
#include "lob_internal.h"

#define LOB_TICKET_PAYLOAD_MAX 640

int
lob_ticket_make(const struct gw_config *cfg, const char *lobby_id,
                const char *match_id, const char *user, const char *host,
                int64_t port, int64_t exp_s, char *out, size_t cap)
{
    struct gw_buf p = {0};
    unsigned char mac[32];
    size_t        n;
    int           rc = GW_ERROR;

    if (gw_buf_appends(&p, "{\"v\":1,\"lobby\":") != 0
        || gw_buf_append_json_str(&p, lobby_id) != 0
        || gw_buf_appends(&p, ",\"match\":") != 0
        || gw_buf_append_json_str(&p, match_id) != 0
        || gw_buf_appends(&p, ",\"user\":") != 0
        || gw_buf_append_json_str(&p, user) != 0
        || gw_buf_appends(&p, ",\"host\":") != 0
        || gw_buf_append_json_str(&p, host) != 0
        || gw_buf_printf(&p, ",\"port\":%lld,\"exp\":%lld}", (long long) port,
                         (long long) exp_s)
            != 0) {
        goto fail;
    }
    if (p.len > LOB_TICKET_PAYLOAD_MAX
        || GW_B64URL_LEN(p.len) + 1 + GW_B64URL_LEN(32) + 1 > cap) {
        goto fail;
    }
    n = gw_b64url_encode((const unsigned char *) p.data, p.len, out);
    gw_hmac_sha256(cfg->ticket_secret, cfg->ticket_secret_len, out, n, mac);
    out[n++] = '.';
    gw_b64url_encode(mac, sizeof(mac), out + n);
    rc = GW_OK;
fail:
    gw_buf_free(&p);
    return rc;
}

/* The payload's members are what we wrote: types checked, none missing. */
static int
lob_ticket_shape(const char *json, int64_t *exp)
{
    static const char *const strs[] = {"lobby", "match", "user", "host"};
    cJSON                   *o = cJSON_Parse(json), *e, *port, *v;
    size_t                   i;
    int                      ok;

    v = cJSON_GetObjectItemCaseSensitive(o, "v");
    e = cJSON_GetObjectItemCaseSensitive(o, "exp");
    port = cJSON_GetObjectItemCaseSensitive(o, "port");
    ok = cJSON_IsObject(o) && cJSON_IsNumber(v) && v->valuedouble == 1
        && cJSON_IsNumber(e) && cJSON_IsNumber(port);
    for (i = 0; ok && i < sizeof(strs) / sizeof(strs[0]); i++) {
        ok = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, strs[i]));
    }
    if (ok) {
        *exp = (int64_t) e->valuedouble;
    }
    cJSON_Delete(o);
    return ok ? GW_OK : GW_EINVAL;
}

int
lob_ticket_verify(const unsigned char *secret, size_t secret_len,
                  const char *ticket, int64_t now_s, char *payload, size_t cap)
{
    unsigned char want[32], got[33];
    const char   *dot;
    size_t        n;
    long          len;
    int64_t       exp = 0;

    n = ticket != NULL ? strlen(ticket) : 0;
    dot = n > 0 && n <= LOB_TICKET_MAX ? strchr(ticket, '.') : NULL;
    if (dot == NULL || strchr(dot + 1, '.') != NULL) {
        return GW_EINVAL;
    }
    gw_hmac_sha256(secret, secret_len, ticket, (size_t) (dot - ticket), want);
    len = gw_b64url_decode(dot + 1, strlen(dot + 1), got, sizeof(got));
    if (len != (long) sizeof(want) || !gw_ct_equal(want, got, sizeof(want))) {
        return GW_EINVAL;
    }
    len = gw_b64url_decode(ticket, (size_t) (dot - ticket),
                           (unsigned char *) payload, cap - 1);
    if (len < 0) {
        return GW_EINVAL;
    }
    payload[len] = '\0';
    if (memchr(payload, '\0', (size_t) len) != NULL
        || lob_ticket_shape(payload, &exp) != GW_OK) {
        return GW_EINVAL;
    }
    return exp > now_s ? GW_OK : GW_EEXPIRED;
}
