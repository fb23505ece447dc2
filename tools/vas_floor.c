/*
 * vas-floor — the FastCGI floor for make bench.
 *
 * A do-nothing libfcgi responder behind the same nginx as vasgw: what any
 * libfcgi program costs before it does any work. N threads each loop in
 * FCGX_Accept_r on one unix socket, so with nginx's fastcgi_keep_conn every
 * thread can hold one persistent connection (as vasgw does).
 *
 *   GET /floor...     200, a ~200-byte JSON body, nothing else.
 *   GET /floor-tx...  a minimal durable MariaDB transaction: conditional
 *                     debit of one of 1000 accounts plus one log row, then
 *                     COMMIT. The floor for money endpoints.
 *   GET /floor-pk...  one primary-key SELECT on MariaDB (one of 1000 rows)
 *                     and a small JSON reply. The floor for reads.
 *   GET /floor-range... one range SELECT of a page: 21 rows in key order
 *                     from a random key down (ORDER BY id DESC LIMIT 21),
 *                     and a small JSON reply. What a catalog page's id
 *                     statement asks of MariaDB, without the gateway.
 *   GET /floor-redis... one Redis round trip (an HGET of one of 1000 small
 *                     hashes) and a small JSON reply. The floor for lobbies.
 *
 * Usage: vas-floor -s SOCKET [-t THREADS] [-b BACKLOG]
 *                  [-m MYSQL_SOCKET -u USER -p PASSWORD_FILE -d DATABASE]
 *                  [-r REDIS_PORT -a REDIS_PASSWORD_FILE]  (Redis on 127.0.0.1,
 *                  as the gateway's ACL user "vasgw")
 *
 * Each thread has its own FCGX_Request and (lazily) its own MariaDB connection.
 * SIGTERM/SIGINT end the process: they are blocked in every thread and taken by
 * sigwait() in main, because libfcgi's own SIGTERM handler only sets a flag
 * that blocked threads never look at.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <hiredis.h>
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_THREADS_DEFAULT 64
#define FLOOR_THREADS_MAX     1024
#define FLOOR_BACKLOG_DEFAULT 1024
#define FLOOR_ACCOUNTS        1000
#define FLOOR_RANGE_ROWS      21 /* /floor-range: a catalog page's limit + 1 */
#define FLOOR_BALANCE_START   1000000000000LL
#define FLOOR_DB_TIMEOUT_S    5
#define FLOOR_PASSWORD_MAX    256
#define FLOOR_DRAIN_MAX       (1024 * 1024)
#define FLOOR_REDIS_TIMEOUT_S 1

struct floor_config {
    const char *socket_path;
    int         threads;
    int         backlog;
    const char *mysql_socket;
    const char *mysql_user;
    const char *mysql_database;
    char        mysql_password[FLOOR_PASSWORD_MAX];
    int         redis_port; /* 0: no Redis */
    char        redis_password[FLOOR_PASSWORD_MAX];
    int         listen_fd;
};

struct floor_thread {
    const struct floor_config *cfg;
    pthread_t                  tid;
    unsigned int               seed;
    MYSQL                     *db;
    redisContext              *redis;
};

/* The plain answer, built once: headers and a ~200-byte JSON body. */
static char floor_reply[512];
static int  floor_reply_len;

static void
floor_usage(void)
{
    fprintf(stderr,
            "usage: vas-floor -s SOCKET [-t THREADS] [-b BACKLOG]\n"
            "                 [-m MYSQL_SOCKET -u USER -p PASSWORD_FILE "
            "-d DATABASE] [-r REDIS_PORT -a REDIS_PASSWORD_FILE]\n");
    exit(2);
}

static int
floor_int_parse(const char *s, int min, int max, int *out)
{
    char *end;
    long  v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int) v;
    return 0;
}

/* First line of FILE into buf (without the newline). */
static int
floor_password_read(const char *file, char *buf, size_t size)
{
    FILE  *fp;
    size_t len;

    fp = fopen(file, "r");
    if (fp == NULL) {
        fprintf(stderr, "vas-floor: %s: %s\n", file, strerror(errno));
        return -1;
    }
    if (fgets(buf, (int) size, fp) == NULL)
        buf[0] = '\0';
    fclose(fp);
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    return 0;
}

static void
floor_reply_build(void)
{
    static const char body[] =
        "{\"status\":\"ok\",\"service\":\"vas-floor\","
        "\"about\":\"the FastCGI floor: a do-nothing libfcgi responder\","
        "\"compare\":\"make bench divides every endpoint by this\","
        "\"padding\":\"0123456789abcdef0123456789abcdef0123456789\"}\n";
    int n;

    n = snprintf(floor_reply, sizeof(floor_reply),
                 "Status: 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n"
                 "\r\n%s",
                 sizeof(body) - 1, body);
    if (n < 0 || (size_t) n >= sizeof(floor_reply))
        abort();
    floor_reply_len = n;
}

static MYSQL *
floor_db_connect(const struct floor_config *cfg)
{
    unsigned int timeout_s = FLOOR_DB_TIMEOUT_S;
    MYSQL       *db;

    db = mysql_init(NULL);
    if (db == NULL)
        return NULL;
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &timeout_s);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
    if (mysql_real_connect(db, NULL, cfg->mysql_user, cfg->mysql_password,
                           cfg->mysql_database, 0, cfg->mysql_socket, 0)
        == NULL) {
        fprintf(stderr, "vas-floor: connect %s: %s\n", cfg->mysql_socket,
                mysql_error(db));
        mysql_close(db);
        return NULL;
    }
    return db;
}

static int
floor_db_exec(MYSQL *db, const char *sql)
{
    if (mysql_real_query(db, sql, strlen(sql)) != 0) {
        fprintf(stderr, "vas-floor: %.60s: %s\n", sql, mysql_error(db));
        return -1;
    }
    return 0;
}

/* Creates the floor's two tables and its 1000 accounts (idempotent). */
static int
floor_db_setup(const struct floor_config *cfg)
{
    static const char accounts[] =
        "CREATE TABLE IF NOT EXISTS bench_floor_accounts ("
        " id INT NOT NULL PRIMARY KEY,"
        " balance BIGINT NOT NULL"
        ") ENGINE=InnoDB";
    static const char log_table[] =
        "CREATE TABLE IF NOT EXISTS bench_floor_log ("
        " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " account_id INT NOT NULL,"
        " amount BIGINT NOT NULL,"
        " created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
        ") ENGINE=InnoDB";
    char   sql[FLOOR_ACCOUNTS * 32 + 128];
    size_t len;
    int    i, n, rc = -1;
    MYSQL *db;

    db = floor_db_connect(cfg);
    if (db == NULL)
        return -1;
    if (floor_db_exec(db, accounts) != 0 || floor_db_exec(db, log_table) != 0)
        goto out;
    len = (size_t) snprintf(sql, sizeof(sql),
                            "INSERT IGNORE INTO bench_floor_accounts"
                            " (id, balance) VALUES ");
    for (i = 1; i <= FLOOR_ACCOUNTS; i++) {
        n = snprintf(sql + len, sizeof(sql) - len, "%s(%d,%lld)",
                     i == 1 ? "" : ",", i, FLOOR_BALANCE_START);
        if (n < 0 || (size_t) n >= sizeof(sql) - len)
            goto out;
        len += (size_t) n;
    }
    rc = floor_db_exec(db, sql);
out:
    mysql_close(db);
    return rc;
}

/* One durable transaction: conditional debit plus a log row. Returns the log
 * row id, or -1. */
static long long
floor_tx_run(struct floor_thread *th, int account)
{
    char      sql[256];
    long long id;

    if (th->db == NULL) {
        th->db = floor_db_connect(th->cfg);
        if (th->db == NULL)
            return -1;
    }
    if (floor_db_exec(th->db, "START TRANSACTION") != 0)
        goto fail;
    snprintf(sql, sizeof(sql),
             "UPDATE bench_floor_accounts SET balance = balance - 1"
             " WHERE id = %d AND balance >= 1",
             account);
    if (floor_db_exec(th->db, sql) != 0)
        goto fail;
    if (mysql_affected_rows(th->db) != 1) {
        floor_db_exec(th->db, "ROLLBACK");
        return 0;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO bench_floor_log (account_id, amount)"
             " VALUES (%d, 1)",
             account);
    if (floor_db_exec(th->db, sql) != 0)
        goto fail;
    id = (long long) mysql_insert_id(th->db);
    if (floor_db_exec(th->db, "COMMIT") != 0)
        goto fail;
    return id;

fail:
    /* The connection's state is unknown: drop it and reconnect on the next
     * request. */
    mysql_close(th->db);
    th->db = NULL;
    return -1;
}

/* The answer of a floor whose database or Redis is not there. */
static void
floor_unavailable(FCGX_Request *req)
{
    FCGX_PutS("Status: 503 Service Unavailable\r\n"
              "Content-Type: application/problem+json\r\n\r\n"
              "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
              "\"status\":503,\"code\":\"unavailable\"}\n",
              req->out);
}

static void
floor_tx_answer(struct floor_thread *th, FCGX_Request *req)
{
    int       account = 1 + (int) (rand_r(&th->seed) % FLOOR_ACCOUNTS);
    long long id = -1;
    char      body[160];
    int       n;

    if (th->cfg->mysql_socket != NULL)
        id = floor_tx_run(th, account);
    if (id < 0) {
        floor_unavailable(req);
        return;
    }
    n = snprintf(body, sizeof(body),
                 "{\"status\":\"ok\",\"account_id\":%d,\"log_id\":%lld,"
                 "\"debited\":%d}\n",
                 account, id, id > 0);
    FCGX_FPrintF(req->out,
                 "Status: 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 n, body);
}

/* One autocommit SELECT of the accounts. A primary-key SELECT of one row
 * (/floor-pk, the floor of a read endpoint), or with range set a page of
 * FLOOR_RANGE_ROWS rows from a random key down (/floor-range). */
static void
floor_select_answer(struct floor_thread *th, FCGX_Request *req, int range)
{
    int        account = 1 + (int) (rand_r(&th->seed) % FLOOR_ACCOUNTS);
    char       sql[160], body[160];
    MYSQL_RES *res = NULL;
    MYSQL_ROW  row = NULL;
    int        n;

    if (th->db == NULL && th->cfg->mysql_socket != NULL)
        th->db = floor_db_connect(th->cfg);
    if (range)
        snprintf(sql, sizeof(sql),
                 "SELECT id, balance FROM bench_floor_accounts WHERE id <= %d"
                 " ORDER BY id DESC LIMIT %d",
                 account + FLOOR_RANGE_ROWS, FLOOR_RANGE_ROWS);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT id, balance FROM bench_floor_accounts WHERE id = %d",
                 account);
    if (th->db != NULL && floor_db_exec(th->db, sql) == 0)
        res = mysql_store_result(th->db);
    if (res != NULL)
        row = mysql_fetch_row(res);
    if (row == NULL) {
        if (res == NULL && th->db != NULL) {
            mysql_close(th->db);
            th->db = NULL;
        }
        mysql_free_result(res);
        floor_unavailable(req);
        return;
    }
    if (range)
        n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"account_id\":%s,\"balance\":%s,"
                     "\"rows\":%d}\n",
                     row[0], row[1], (int) mysql_num_rows(res));
    else
        n = snprintf(body, sizeof(body),
                     "{\"status\":\"ok\",\"account_id\":%s,\"balance\":%s}\n",
                     row[0], row[1]);
    mysql_free_result(res);
    FCGX_FPrintF(req->out,
                 "Status: 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 n, body);
}

/* One Redis round trip (HGET of one of 1000 hashes), the floor of a lobby
 * route: the connection is per thread, made once, as vasgw's is. */
static void
floor_redis_answer(struct floor_thread *th, FCGX_Request *req)
{
    struct timeval tv = {FLOOR_REDIS_TIMEOUT_S, 0};
    int            key = 1 + (int) (rand_r(&th->seed) % FLOOR_ACCOUNTS);
    redisReply    *rep = NULL;
    char           body[160];
    int            n;

    if (th->redis == NULL && th->cfg->redis_port > 0) {
        th->redis =
            redisConnectWithTimeout("127.0.0.1", th->cfg->redis_port, tv);
        if (th->redis != NULL
            && (th->redis->err != 0 || redisSetTimeout(th->redis, tv) != 0)) {
            redisFree(th->redis);
            th->redis = NULL;
        }
    }
    if (th->redis != NULL)
        rep = redisCommand(th->redis, "HGET vas:floor:{%d} state", key);
    if (rep == NULL) {
        if (th->redis != NULL) {
            redisFree(th->redis);
            th->redis = NULL;
        }
        floor_unavailable(req);
        return;
    }
    n = snprintf(body, sizeof(body),
                 "{\"status\":\"ok\",\"key\":%d,\"state\":%s}\n", key,
                 rep->type == REDIS_REPLY_STRING ? "\"set\"" : "null");
    freeReplyObject(rep);
    FCGX_FPrintF(req->out,
                 "Status: 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 n, body);
}

/* Reads and drops what is left of the request body, so a kept connection stays
 * in step. */
static void
floor_body_drain(FCGX_Request *req)
{
    char buf[4096];
    int  n, total = 0;

    while (total < FLOOR_DRAIN_MAX) {
        n = FCGX_GetStr(buf, sizeof(buf), req->in);
        if (n <= 0)
            break;
        total += n;
    }
}

static void *
floor_thread_main(void *arg)
{
    struct floor_thread *th = arg;
    FCGX_Request         req;
    const char          *uri;

    if (th->cfg->mysql_socket != NULL)
        mysql_thread_init();
    if (FCGX_InitRequest(&req, th->cfg->listen_fd, 0) != 0)
        abort();
    while (FCGX_Accept_r(&req) >= 0) {
        floor_body_drain(&req);
        uri = FCGX_GetParam("DOCUMENT_URI", req.envp);
        if (uri != NULL && strncmp(uri, "/floor-tx", 9) == 0)
            floor_tx_answer(th, &req);
        else if (uri != NULL && strncmp(uri, "/floor-pk", 9) == 0)
            floor_select_answer(th, &req, 0);
        else if (uri != NULL && strncmp(uri, "/floor-range", 12) == 0)
            floor_select_answer(th, &req, 1);
        else if (uri != NULL && strncmp(uri, "/floor-redis", 12) == 0)
            floor_redis_answer(th, &req);
        else
            FCGX_PutStr(floor_reply, floor_reply_len, req.out);
        FCGX_Finish_r(&req);
    }
    fprintf(stderr, "vas-floor: FCGX_Accept_r failed: thread exits\n");
    return NULL;
}

static void
floor_args_parse(int argc, char **argv, struct floor_config *cfg)
{
    const char *password_file = NULL;
    int         c;

    while ((c = getopt(argc, argv, "s:t:b:m:u:p:d:r:a:h")) != -1) {
        switch (c) {
        case 's':
            cfg->socket_path = optarg;
            break;
        case 't':
            if (floor_int_parse(optarg, 1, FLOOR_THREADS_MAX, &cfg->threads))
                floor_usage();
            break;
        case 'b':
            if (floor_int_parse(optarg, 1, 65535, &cfg->backlog))
                floor_usage();
            break;
        case 'm':
            cfg->mysql_socket = optarg;
            break;
        case 'u':
            cfg->mysql_user = optarg;
            break;
        case 'p':
            password_file = optarg;
            break;
        case 'd':
            cfg->mysql_database = optarg;
            break;
        case 'r':
            if (floor_int_parse(optarg, 1, 65535, &cfg->redis_port))
                floor_usage();
            break;
        case 'a':
            if (floor_password_read(optarg, cfg->redis_password,
                                    sizeof(cfg->redis_password))
                != 0)
                exit(1);
            break;
        default:
            floor_usage();
        }
    }
    if (cfg->socket_path == NULL || optind != argc)
        floor_usage();
    if (cfg->mysql_socket != NULL) {
        if (cfg->mysql_user == NULL || cfg->mysql_database == NULL
            || password_file == NULL)
            floor_usage();
        if (floor_password_read(password_file, cfg->mysql_password,
                                sizeof(cfg->mysql_password))
            != 0)
            exit(1);
    }
}

static int
floor_listen(struct floor_config *cfg)
{
    struct stat st;
    mode_t      old_mask;

    /* A socket left by a previous run would make bind() fail. */
    if (lstat(cfg->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(cfg->socket_path);
    old_mask = umask(077);
    cfg->listen_fd = FCGX_OpenSocket(cfg->socket_path, cfg->backlog);
    umask(old_mask);
    if (cfg->listen_fd < 0) {
        fprintf(stderr, "vas-floor: cannot listen on %s\n", cfg->socket_path);
        return -1;
    }
    if (chmod(cfg->socket_path, 0600) != 0) {
        fprintf(stderr, "vas-floor: chmod %s: %s\n", cfg->socket_path,
                strerror(errno));
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct floor_config cfg = {
        .threads = FLOOR_THREADS_DEFAULT,
        .backlog = FLOOR_BACKLOG_DEFAULT,
    };
    struct floor_thread *threads;
    sigset_t             stop;
    int                  i, sig;

    floor_args_parse(argc, argv, &cfg);
    floor_reply_build();
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0) {
        fprintf(stderr, "vas-floor: FCGX_Init failed\n");
        return 1;
    }
    if (cfg.mysql_socket != NULL) {
        if (mysql_library_init(0, NULL, NULL) != 0 || floor_db_setup(&cfg) != 0)
            return 1;
    }
    if (floor_listen(&cfg) != 0)
        return 1;

    /* Threads inherit this mask: only main takes SIGTERM/SIGINT. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    threads = calloc((size_t) cfg.threads, sizeof(*threads));
    if (threads == NULL)
        return 1;
    for (i = 0; i < cfg.threads; i++) {
        threads[i].cfg = &cfg;
        threads[i].seed =
            (unsigned int) time(NULL) ^ (unsigned int) i * 2654435761u;
        if (pthread_create(&threads[i].tid, NULL, floor_thread_main,
                           &threads[i])
            != 0) {
            fprintf(stderr, "vas-floor: pthread_create failed\n");
            return 1;
        }
    }
    fprintf(stderr, "vas-floor: pid %ld, %d threads on %s%s\n", (long) getpid(),
            cfg.threads, cfg.socket_path,
            cfg.mysql_socket != NULL ? ", /floor-tx on MariaDB" : "");

    if (sigwait(&stop, &sig) != 0)
        sig = SIGTERM;
    fprintf(stderr, "vas-floor: signal %d: exiting\n", sig);
    unlink(cfg.socket_path);
    /* In-flight floor requests are trivial and floor-tx's are a benchmark: no
     * drain. */
    _exit(0);
}
