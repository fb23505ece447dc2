/*
 * gw_migrate.c — read the folder, diff against schema_migrations, apply.
 *
 * Files are split into statements on ";" at the end of a line (outside
 * quotes is enough for DDL we write ourselves; no procedures). MariaDB DDL
 * is not transactional, so files are written to be re-runnable (IF NOT
 * EXISTS) and a failure leaves the version unrecorded.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Executes each statement of sql; reports the failing one. */
static int
gw_migrate_apply(struct gw_db *db, const char *name, char *sql, FILE *out)
{
    char *p = sql, *end;
    int   stmt = 0, rc;

    while (*p) {
        end = strstr(p, ";\n");
        if (end == NULL) {
            end = p + strlen(p);
        } else {
            *end = '\0';
            end += 2;
        }
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            p++;
        }
        /* Skip comment-only chunks. */
        char *q = p;
        while (*q == '-' && q[1] == '-') {
            q = strchr(q, '\n');
            if (q == NULL) {
                q = p + strlen(p);
                break;
            }
            while (*q == '\n' || *q == ' ') {
                q++;
            }
        }
        if (*q != '\0' && *q != ';') {
            stmt++;
            if (mysql_real_query(db->conn, p, strlen(p)) != 0) {
                fprintf(out, "migration %s failed at statement %d: %s\n", name,
                        stmt, mysql_error(db->conn));
                return GW_ERROR;
            }
            MYSQL_RES *res = mysql_store_result(db->conn);
            if (res != NULL) {
                mysql_free_result(res);
            }
        }
        p = end;
    }
    rc = GW_OK;
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
