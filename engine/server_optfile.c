/* Reading a MariaDB option file for --defaults-extra-file. libmariadb reads
 * either one named file or the usual ones, never "the usual ones and then
 * this one", so the extra file's connection values are read here and passed
 * to mysql_real_connect(), where they win over the usual files. */
#include "engine/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The groups MariaDB's clients read, plus ibstream's own. */
static const char *const client_groups[] = {"client", "client-server", "client-mariadb", "ibstream"};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* Unquotes a value in place: "..." or '...' lose their quotes (with \" \\ \n
 * escapes in double quotes); an unquoted value ends at a '#' comment. */
static char *unquote(char *v)
{
    if (*v == '"' || *v == '\'') {
        char quote = *v++;
        char *r = v, *w = v;
        while (*r && *r != quote) {
            if (quote == '"' && *r == '\\' && r[1]) {
                r++;
                *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
                r++;
                continue;
            }
            *w++ = *r++;
        }
        *w = '\0';
        return v;
    }
    char *hash = strchr(v, '#');
    if (hash)
        *hash = '\0';
    return trim(v);
}

static bool is_client_group(const char *name)
{
    for (size_t i = 0; i < sizeof(client_groups) / sizeof(client_groups[0]); i++)
        if (strcmp(name, client_groups[i]) == 0)
            return true;
    return false;
}

static int set_string(char **slot, const char *value, struct ibs_err *err)
{
    char *copy = strdup(value);
    if (!copy)
        return ibs_err_set(err, IBS_E_INTERNAL, "option file: out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}

static int apply(struct eng_optfile *f, const char *path, unsigned line, char *key, char *value,
                 struct ibs_err *err)
{
    for (char *p = key; *p; p++)
        if (*p == '-')
            *p = '_';
    if (strcmp(key, "host") == 0)
        return set_string(&f->host, value, err);
    if (strcmp(key, "socket") == 0)
        return set_string(&f->socket, value, err);
    if (strcmp(key, "user") == 0)
        return set_string(&f->user, value, err);
    if (strcmp(key, "password") == 0)
        return set_string(&f->password, value, err);
    if (strcmp(key, "port") == 0) {
        char *end;
        errno = 0;
        unsigned long port = strtoul(value, &end, 10);
        if (errno || end == value || *end || port > 65535)
            return ibs_err_set(err, IBS_E_USAGE, "option file %s line %u: port '%s' is not a TCP port",
                               path, line, value);
        f->port = (unsigned)port;
    }
    return 0; /* other options (ssl, timeouts...) are not connection targets */
}

int eng_optfile_read(const char *path, struct eng_optfile *out, struct ibs_err *err)
{
    FILE *fp;
    char buf[4096];
    bool in_group = false;
    unsigned line = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    fp = fopen(path, "r");
    if (!fp)
        return ibs_err_sys(err, IBS_E_USAGE, errno,
                           "option file %s cannot be read: check the path and its permissions", path);
    while (fgets(buf, sizeof(buf), fp)) {
        line++;
        char *s = trim(buf);
        if (!*s || *s == '#' || *s == ';' || *s == '!')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) {
                rc = ibs_err_set(err, IBS_E_USAGE, "option file %s line %u: unterminated group name",
                                 path, line);
                goto out;
            }
            *end = '\0';
            in_group = is_client_group(trim(s + 1));
            continue;
        }
        if (!in_group)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue; /* a flag such as skip-ssl */
        *eq = '\0';
        rc = apply(out, path, line, trim(s), unquote(trim(eq + 1)), err);
        if (rc)
            goto out;
    }
    if (ferror(fp))
        rc = ibs_err_sys(err, IBS_E_USAGE, errno, "option file %s: read error", path);
out:
    fclose(fp);
    if (rc)
        eng_optfile_free(out);
    return rc;
}

void eng_optfile_free(struct eng_optfile *f)
{
    if (!f)
        return;
    free(f->host);
    free(f->socket);
    free(f->user);
    free(f->password);
    memset(f, 0, sizeof(*f));
}
