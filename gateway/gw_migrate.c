/*
 * gw_migrate.c — read the folder, diff against schema_migrations, apply.
 *
 * Files are split into statements on the delimiter at the end of a line
 * (outside quotes is enough for DDL we write ourselves). The delimiter is
 * ";" until a line "DELIMITER //" changes it, as in the mariadb client, so
 * a procedure body with ";" inside is one statement:
 *
 *     DELIMITER //
 *     DROP PROCEDURE IF EXISTS p //
 *     CREATE PROCEDURE p() BEGIN ...; ...; END //
 *     DELIMITER ;
 *
 * MariaDB DDL is not transactional, so files are written to be re-runnable
 * (IF NOT EXISTS; DROP PROCEDURE IF EXISTS + CREATE) and a failure leaves
 * the version unrecorded.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_db.h"
#include "gw_migrate.h"
#include "gw_status.h"
#include "gw_util.h"

#define GW_MIGRATIONS_MAX      512
#define GW_MIGRATION_BYTES_MAX (1024 * 1024)

static int
gw_migrate_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
gw_migrate_list(const char *dir, char **names, int *n)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    size_t         len;

    *n = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL && *n < GW_MIGRATIONS_MAX) {
        len = strlen(e->d_name);
        if (len > 8 && e->d_name[0] >= '0' && e->d_name[0] <= '9'
            && strcmp(e->d_name + len - 4, ".sql") == 0) {
            names[(*n)++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, (size_t) *n, sizeof(char *), gw_migrate_cmp);
    return 0;
}

static char *
gw_migrate_read(const char *dir, const char *name, size_t *len)
{
    char  path[1024];
    char *buf;
    long  n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf = malloc(GW_MIGRATION_BYTES_MAX + 1);
    if (buf == NULL) {
        return NULL;
    }
    n = gw_config_read_file(path, buf, GW_MIGRATION_BYTES_MAX, 0);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t) n;
    return buf;
}

#define GW_MIGRATE_DELIM_MAX 8

/* Is the chunk only blank lines and "--" comments? */
static int
gw_migrate_blank(const char *p)
{
    while (*p != '\0') {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p = strchr(p, '\n');
            if (p == NULL) {
                return 1;
            }
        } else {
            return 0;
        }
    }
    return 1;
}

/* Is [start, line) blank (a DELIMITER line must begin a statement)? */
static int
gw_migrate_blank_before(char *start, char *line)
{
    char saved = *line;
    int  blank;

    *line = '\0';
    blank = gw_migrate_blank(start);
    *line = saved;
    return blank;
}

/* Sends one statement (a non-blank chunk); reports it when it fails. */
static int
gw_migrate_send(struct gw_db *db, const char *name, char *p, int *stmt,
                FILE *out)
{
    MYSQL_RES *res;

    if (gw_migrate_blank(p)) {
        return GW_OK;
    }
    (*stmt)++;
    if (mysql_real_query(db->conn, p, strlen(p)) != 0) {
        fprintf(out, "migration %s failed at statement %d: %s\n", name, *stmt,
                mysql_error(db->conn));
        return GW_ERROR;
    }
    res = mysql_store_result(db->conn);
    if (res != NULL) {
        mysql_free_result(res);
    }
    return GW_OK;
}

/* "DELIMITER x" (the whole line): the new delimiter into delim. */
static int
gw_migrate_delimiter(const char *line, size_t len, char *delim)
{
    size_t n;

    if (len < 11 || strncasecmp(line, "DELIMITER ", 10) != 0) {
        return 0;
    }
    line += 10;
    len -= 10;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r')) {
        len--;
    }
    n = len < GW_MIGRATE_DELIM_MAX ? len : GW_MIGRATE_DELIM_MAX;
    memcpy(delim, line, n);
    delim[n] = '\0';
    return n > 0;
}

/* Executes each statement of sql, line by line; reports the failing one. */
static int
gw_migrate_apply(struct gw_db *db, const char *name, char *sql, FILE *out)
{
    char   delim[GW_MIGRATE_DELIM_MAX + 1] = ";";
    char  *start = sql, *line = sql, *nl;
    size_t len, dl;
    int    stmt = 0, rc = GW_OK;

    while (rc == GW_OK && *line != '\0') {
        nl = strchr(line, '\n');
        len = nl != NULL ? (size_t) (nl - line) : strlen(line);
        dl = strlen(delim);
        if (gw_migrate_blank_before(start, line)
            && gw_migrate_delimiter(line, len, delim)) {
            start = nl != NULL ? nl + 1 : line + len; /* not sent */
        } else if (len >= dl && memcmp(line + len - dl, delim, dl) == 0) {
            line[len - dl] = '\0'; /* the statement ends here */
            rc = gw_migrate_send(db, name, start, &stmt, out);
            start = nl != NULL ? nl + 1 : line + len;
        }
        line = nl != NULL ? nl + 1 : line + len;
    }
    if (rc == GW_OK) {
        rc = gw_migrate_send(db, name, start, &stmt, out);
    }
    return rc;
}

static int
gw_migrate_one(struct gw_db *db, const char *dir, const char *name, FILE *out)
{
    struct gw_arena a;
    MYSQL_ROW       row;
    char            sum[65], version[16];
    char           *sql;
    size_t          len;
    int             rc;

    sql = gw_migrate_read(dir, name, &len);
    if (sql == NULL) {
        fprintf(out, "cannot read %s/%s\n", dir, name);
        return GW_ERROR;
    }
    gw_sha256_hex(sql, len, sum);
    snprintf(version, sizeof(version), "%.*s", (int) strspn(name, "0123456789"),
             name);
    if (gw_arena_init(&a) != 0) {
        free(sql);
        return GW_ERROR;
    }
    rc = gw_db_row(db, &a, &row,
                   "SELECT checksum FROM schema_migrations WHERE version = %s",
                   version);
    if (rc == GW_OK && row != NULL) {
        if (strcmp(row[0], sum) != 0) {
            fprintf(out,
                    "migration %s was changed after it was applied"
                    " (checksum differs): add a new migration instead\n",
                    name);
            rc = GW_ERROR;
        }
        goto done;
    }
    if (rc != GW_OK) {
        goto done;
    }
    rc = gw_migrate_apply(db, name, sql, out);
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "INSERT INTO schema_migrations (version, name,"
                        " checksum, applied_at) VALUES (%s, %s, %s,"
                        " UTC_TIMESTAMP())",
                        version, name, sum);
        fprintf(out, "applied %s\n", name);
    }
done:
    gw_arena_fini(&a);
    free(sql);
    return rc;
}

int
gw_migrate_run(struct gw_db *db, const char *dir, FILE *out)
{
    char *names[GW_MIGRATIONS_MAX];
    int   n, i, rc;

    rc = gw_db_connect(db);
    if (rc != GW_OK) {
        fprintf(out, "cannot connect to MariaDB\n");
        return rc;
    }
    rc = gw_db_exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version VARCHAR(16) NOT NULL PRIMARY KEY,"
                    " name VARCHAR(255) NOT NULL,"
                    " checksum CHAR(64) NOT NULL,"
                    " applied_at DATETIME NOT NULL) ENGINE=InnoDB");
    if (rc != GW_OK) {
        return rc;
    }
    if (gw_migrate_list(dir, names, &n) != 0) {
        fprintf(out, "cannot read migrations folder %s: %s\n", dir,
                strerror(errno));
        return GW_ERROR;
    }
    for (i = 0; i < n; i++) {
        if (rc == GW_OK) {
            rc = gw_migrate_one(db, dir, names[i], out);
        }
        free(names[i]);
    }
    return rc;
}
