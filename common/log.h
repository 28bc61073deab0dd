/* Logging: levels, timestamps, text or JSON lines on stderr, and redaction of
 * secrets. Every line passes through ibs_log_redact(), so a registered secret
 * (a password, an S3 secret key, a session token) or a signature never reaches
 * a log, whatever the caller formatted into it. Thread-safe. */
#ifndef IBS_COMMON_LOG_H
#define IBS_COMMON_LOG_H

#include <stddef.h>
#include <stdio.h>

enum ibs_log_level { IBS_LOG_DEBUG = 0, IBS_LOG_INFO, IBS_LOG_WARN, IBS_LOG_ERROR, IBS_LOG_OFF };
enum ibs_log_format { IBS_LOG_TEXT = 0, IBS_LOG_JSON };

/* Where and what to log; out NULL means stderr. Defaults: info, text, stderr. */
void ibs_log_configure(enum ibs_log_level min_level, enum ibs_log_format format, FILE *out);

/* Parse "debug|info|warn|error|off" / "text|json"; 0 on success, -1 if unknown. */
int ibs_log_level_parse(const char *name, enum ibs_log_level *level);
int ibs_log_format_parse(const char *name, enum ibs_log_format *format);

enum ibs_log_level ibs_log_min_level(void);

/* Registers a secret to be replaced by "***" wherever it appears in output.
 * The string is copied; secrets shorter than 4 bytes are ignored (they would
 * blank out ordinary words). */
void ibs_log_add_secret(const char *secret);

/* Forgets every registered secret (tests, end of program). */
void ibs_log_forget_secrets(void);

/* Copies in to out (always NUL-terminated, truncated to out_size) with the
 * registered secrets and the values of well-known secret-bearing fields
 * (password=, Signature=, X-Amz-Signature=, X-Amz-Security-Token...) masked. */
void ibs_log_redact(const char *in, char *out, size_t out_size);

/* Logs one line at level from component ("s3", "backup", ...). */
void ibs_logf(enum ibs_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define IBS_DEBUG(comp, ...) ibs_logf(IBS_LOG_DEBUG, comp, __VA_ARGS__)
#define IBS_INFO(comp, ...) ibs_logf(IBS_LOG_INFO, comp, __VA_ARGS__)
#define IBS_WARN(comp, ...) ibs_logf(IBS_LOG_WARN, comp, __VA_ARGS__)
#define IBS_ERROR(comp, ...) ibs_logf(IBS_LOG_ERROR, comp, __VA_ARGS__)

#endif
