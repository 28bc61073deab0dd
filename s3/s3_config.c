/* Credentials, region and endpoint resolution (see s3_config.h). The order is
 * the AWS CLI's: explicit options, then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (/AWS_SESSION_TOKEN), then the profile (opts->profile, AWS_PROFILE, else
 * "default") in the shared credentials file, then in the config file. */
#include "s3/s3_config.h"

#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Values read from one section of an AWS ini file. */
struct ini_profile {
    const char *section; /* "prod" in credentials, "profile prod" or "default" in config */
    bool found;
    char *access_key;
    char *secret_key;
    char *session_token;
    char *region;
    char *endpoint;
};

static void set_value(char **slot, const char *value)
{
    free(*slot);
    *slot = strdup(value);
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct ini_profile *p = user;
    if (strcmp(section, p->section) != 0)
        return 1;
    p->found = true;
    if (strcmp(name, "aws_access_key_id") == 0)
        set_value(&p->access_key, value);
    else if (strcmp(name, "aws_secret_access_key") == 0)
        set_value(&p->secret_key, value);
    else if (strcmp(name, "aws_session_token") == 0)
        set_value(&p->session_token, value);
    else if (strcmp(name, "region") == 0)
        set_value(&p->region, value);
    else if (strcmp(name, "endpoint_url") == 0)
        set_value(&p->endpoint, value);
    return 1;
}

static void profile_free(struct ini_profile *p)
{
    if (p->secret_key)
        explicit_bzero(p->secret_key, strlen(p->secret_key));
    free(p->access_key);
    free(p->secret_key);
    free(p->session_token);
    free(p->region);
    free(p->endpoint);
    memset(p, 0, sizeof(*p));
}

/* Reads section from path; a missing file is not an error, a malformed one is. */
static int read_profile(const char *path, const char *section, struct ini_profile *p,
                        struct ibs_err *err)
{
    p->section = section;
    int rc = ini_parse(path, on_ini_value, p);
    if (rc > 0)
        return ibs_err_set(err, IBS_E_USAGE,
                           "s3: %s line %d: not a valid INI line: fix or remove it", path, rc);
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *default_path(const char *env_name, const char *leaf)
{
    const char *v = env(env_name);
    if (v)
        return strdup(v);
    const char *home = env("HOME");
    char *path = NULL;
    if (asprintf(&path, "%s/.aws/%s", home ? home : "", leaf) < 0)
        return NULL;
    return path;
}

static int dup_into(char **slot, const char *value, struct ibs_err *err)
{
    if (!value)
        return 0;
    *slot = strdup(value);
    if (!*slot)
        return ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
    return 0;
}

int s3_config_resolve(const struct store_opts *opts, struct s3_config *cfg, struct ibs_err *err)
{
    int rc = 0;
    struct ini_profile cred_file = {0}, conf_file = {0};
    char *cred_path = default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf_path = default_path("AWS_CONFIG_FILE", "config");
    char *conf_section = NULL;
    const char *profile = opts->profile ? opts->profile : env("AWS_PROFILE");
    bool profile_named = profile != NULL;

    memset(cfg, 0, sizeof(*cfg));
    if (!profile)
        profile = "default";
    if (!cred_path || !conf_path ||
        asprintf(&conf_section, strcmp(profile, "default") ? "profile %s" : "%s", profile) < 0) {
        conf_section = NULL;
        rc = ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
        goto out;
    }
    rc = read_profile(cred_path, profile, &cred_file, err);
    if (!rc)
        rc = read_profile(conf_path, conf_section, &conf_file, err);
    if (rc)
        goto out;

    /* Credentials: the first place that has an access key wins, whole. */
    if (opts->access_key || opts->secret_key) {
        if (!opts->access_key || !opts->secret_key) {
            rc = ibs_err_set(err, IBS_E_USAGE,
                             "s3: the options give an %s but no %s: give both or neither",
                             opts->access_key ? "access key" : "secret key",
                             opts->access_key ? "secret key" : "access key");
            goto out;
        }
        rc = dup_into(&cfg->access_key, opts->access_key, err);
        rc = rc ? rc : dup_into(&cfg->secret_key, opts->secret_key, err);
        rc = rc ? rc : dup_into(&cfg->session_token, opts->session_token, err);
        snprintf(cfg->source, sizeof(cfg->source), "explicit options");
    } else if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        rc = dup_into(&cfg->access_key, env("AWS_ACCESS_KEY_ID"), err);
        rc = rc ? rc : dup_into(&cfg->secret_key, env("AWS_SECRET_ACCESS_KEY"), err);
        rc = rc ? rc : dup_into(&cfg->session_token, env("AWS_SESSION_TOKEN"), err);
        snprintf(cfg->source, sizeof(cfg->source), "environment");
    } else if (cred_file.access_key && cred_file.secret_key) {
        rc = dup_into(&cfg->access_key, cred_file.access_key, err);
        rc = rc ? rc : dup_into(&cfg->secret_key, cred_file.secret_key, err);
        rc = rc ? rc : dup_into(&cfg->session_token, cred_file.session_token, err);
        snprintf(cfg->source, sizeof(cfg->source), "profile '%s' in %s", profile, cred_path);
    } else if (conf_file.access_key && conf_file.secret_key) {
        rc = dup_into(&cfg->access_key, conf_file.access_key, err);
        rc = rc ? rc : dup_into(&cfg->secret_key, conf_file.secret_key, err);
        rc = rc ? rc : dup_into(&cfg->session_token, conf_file.session_token, err);
        snprintf(cfg->source, sizeof(cfg->source), "profile '%s' in %s", profile, conf_path);
    } else {
        rc = ibs_err_set(err, IBS_E_USAGE,
                         "s3: no credentials: looked at the options, the environment "
                         "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), profile '%s' in %s and "
                         "in %s: set one of them%s",
                         profile, cred_path, conf_path,
                         profile_named && !cred_file.found && !conf_file.found
                             ? " (that profile is in neither file)"
                             : "");
        goto out;
    }
    if (rc)
        goto out;
    ibs_log_add_secret(cfg->secret_key);
    if (cfg->session_token)
        ibs_log_add_secret(cfg->session_token);

    /* Region: options, environment, profile, then us-east-1 as the CLI does. */
    const char *region = opts->region;
    const char *region_from = "options";
    if (!region && (region = env("AWS_REGION")))
        region_from = "AWS_REGION";
    if (!region && (region = env("AWS_DEFAULT_REGION")))
        region_from = "AWS_DEFAULT_REGION";
    if (!region && (region = conf_file.region))
        region_from = conf_path;
    if (!region) {
        region = "us-east-1";
        region_from = "default";
    }
    rc = dup_into(&cfg->region, region, err);
    if (rc)
        goto out;
    snprintf(cfg->region_source, sizeof(cfg->region_source), "%s", region_from);

    /* Endpoint: options, service-specific then global environment, profile. */
    const char *endpoint = opts->endpoint;
    if (!endpoint)
        endpoint = env("AWS_ENDPOINT_URL_S3");
    if (!endpoint)
        endpoint = env("AWS_ENDPOINT_URL");
    if (!endpoint)
        endpoint = conf_file.endpoint;
    rc = dup_into(&cfg->endpoint, endpoint, err);
out:
    profile_free(&cred_file);
    profile_free(&conf_file);
    free(cred_path);
    free(conf_path);
    free(conf_section);
    return rc;
}

void s3_config_clear(struct s3_config *cfg)
{
    if (cfg->secret_key)
        explicit_bzero(cfg->secret_key, strlen(cfg->secret_key));
    free(cfg->access_key);
    free(cfg->secret_key);
    free(cfg->session_token);
    free(cfg->region);
    free(cfg->endpoint);
    memset(cfg, 0, sizeof(*cfg));
}
