/* Logging with redaction (see log.h). */
#include "common/log.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IBS_LOG_LINE_MAX 4096
#define IBS_LOG_SECRETS_MAX 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static enum ibs_log_level log_min_level = IBS_LOG_INFO;
static enum ibs_log_format log_format = IBS_LOG_TEXT;
static FILE *log_out;
static char *log_secrets[IBS_LOG_SECRETS_MAX];
static size_t log_secret_count;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

/* Field names whose value is a secret; the value runs to the next separator. */
static const char *const secret_fields[] = {
    "password=", "password:", "Signature=", "X-Amz-Signature=", "X-Amz-Security-Token=",
    "x-amz-security-token:", "x-amz-server-side-encryption-customer-key:",
    "aws_secret_access_key=", "secret_key=",
};

void ibs_log_configure(enum ibs_log_level min_level, enum ibs_log_format format, FILE *out)
{
    pthread_mutex_lock(&log_lock);
    log_min_level = min_level;
    log_format = format;
    log_out = out;
    pthread_mutex_unlock(&log_lock);
}

enum ibs_log_level ibs_log_min_level(void)
{
    pthread_mutex_lock(&log_lock);
    enum ibs_log_level level = log_min_level;
    pthread_mutex_unlock(&log_lock);
    return level;
}

int ibs_log_level_parse(const char *name, enum ibs_log_level *level)
{
    for (int i = IBS_LOG_DEBUG; i <= IBS_LOG_OFF; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = (enum ibs_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *level = IBS_LOG_WARN;
        return 0;
    }
    return -1;
}

int ibs_log_format_parse(const char *name, enum ibs_log_format *format)
{
    if (strcasecmp(name, "text") == 0)
        *format = IBS_LOG_TEXT;
    else if (strcasecmp(name, "json") == 0)
        *format = IBS_LOG_JSON;
    else
        return -1;
    return 0;
}

void ibs_log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < log_secret_count; i++) {
        if (strcmp(log_secrets[i], secret) == 0)
            goto out;
    }
    if (log_secret_count < IBS_LOG_SECRETS_MAX) {
        char *copy = strdup(secret);
        if (copy)
            log_secrets[log_secret_count++] = copy;
    }
out:
    pthread_mutex_unlock(&log_lock);
}

void ibs_log_forget_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < log_secret_count; i++) {
        explicit_bzero(log_secrets[i], strlen(log_secrets[i]));
        free(log_secrets[i]);
        log_secrets[i] = NULL;
    }
    log_secret_count = 0;
    pthread_mutex_unlock(&log_lock);
}

static int is_value_end(char c)
{
    return c == '\0' || c == ' ' || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'' ||
           c == '\r' || c == '\n';
}

/* Masks the values of secret_fields in buf, in place. */
static void mask_secret_fields(char *buf)
{
    for (size_t f = 0; f < sizeof(secret_fields) / sizeof(secret_fields[0]); f++) {
        size_t name_len = strlen(secret_fields[f]);
        char *p = buf;
        while ((p = strcasestr(p, secret_fields[f])) != NULL) {
            char *value = p + name_len;
            while (*value == ' ')
                value++;
            char *end = value;
            while (!is_value_end(*end))
                end++;
            if (end - value >= 3) { /* shrink to "***": never grows the buffer */
                memmove(value + 3, end, strlen(end) + 1);
                memcpy(value, "***", 3);
                end = value + 3;
            } else {
                memset(value, '*', (size_t)(end - value));
            }
            p = end;
        }
    }
}

/* Called with log_lock held. */
static void redact_locked(const char *in, char *out, size_t out_size)
{
    size_t o = 0;
    if (out_size == 0)
        return;
    for (size_t i = 0; in[i] != '\0' && o + 1 < out_size;) {
        size_t matched = 0;
        for (size_t s = 0; s < log_secret_count; s++) {
            size_t len = strlen(log_secrets[s]);
            if (strncmp(in + i, log_secrets[s], len) == 0) {
                matched = len;
                break;
            }
        }
        if (matched) {
            for (const char *m = "***"; *m && o + 1 < out_size; m++)
                out[o++] = *m;
            i += matched;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    mask_secret_fields(out);
}

void ibs_log_redact(const char *in, char *out, size_t out_size)
{
    pthread_mutex_lock(&log_lock);
    redact_locked(in, out, out_size);
    pthread_mutex_unlock(&log_lock);
}

static void format_timestamp(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", now.tv_nsec / 1000000);
}

void ibs_logf(enum ibs_log_level level, const char *component, const char *fmt, ...)
{
    char raw[IBS_LOG_LINE_MAX];
    char clean[IBS_LOG_LINE_MAX];
    char stamp[40];
    va_list ap;

    if (level < IBS_LOG_DEBUG || level >= IBS_LOG_OFF)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    format_timestamp(stamp, sizeof(stamp));

    pthread_mutex_lock(&log_lock);
    if (level < log_min_level)
        goto out;
    redact_locked(raw, clean, sizeof(clean));
    FILE *out = log_out ? log_out : stderr;
    if (log_format == IBS_LOG_JSON) {
        json_object *line = json_object_new_object();
        json_object_object_add(line, "ts", json_object_new_string(stamp));
        json_object_object_add(line, "level", json_object_new_string(level_names[level]));
        json_object_object_add(line, "component", json_object_new_string(component));
        json_object_object_add(line, "msg", json_object_new_string(clean));
        fprintf(out, "%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
        json_object_put(line);
    } else {
        fprintf(out, "%s %-5s %s: %s\n", stamp, level_names[level], component, clean);
    }
    fflush(out);
out:
    pthread_mutex_unlock(&log_lock);
}
