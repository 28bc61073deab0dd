/* The S3 driver's pre-flight probes (see s3.h): the endpoint's clock and a
 * multipart upload started, given one part, listed and aborted, each step
 * reported apart so `ibstream check` can say which permission is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/s3.h"
#include "s3/s3_store.h"
#include "s3/s3_xml.h"

#define PROBE_PART_LEN 1024 /* only the last part may be under 5 MiB: one small part is valid */

static int probe_open(const struct store_opts *opts, struct s3_store **out, struct ibs_err *err)
{
    void *state = NULL;
    if (!opts->url || strncasecmp(opts->url, "s3://", 5) != 0)
        return ibs_err_set(err, IBS_E_USAGE, "s3: %s is not an s3:// repository URL",
                           opts->url ? opts->url : "(none)");
    int rc = store_s3_driver.open(opts, opts->url + 5, &state, err);
    if (!rc)
        *out = state;
    return rc;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int s3_probe_clock(const struct store_opts *opts, time_t *server_time, time_t *local_time,
                   struct ibs_err *err)
{
    struct s3_store *store = NULL;
    struct s3_resp resp;
    struct ibs_err req_err;
    int rc = probe_open(opts, &store, err);
    if (rc)
        return rc;
    char what[600];
    snprintf(what, sizeof(what), "HEAD bucket %s", store->bucket);
    struct s3_req req = {.method = "HEAD", .what = what};
    s3_resp_init(&resp);
    double start = wall_now();
    int req_rc = s3_request(store, &req, &resp, &req_err);
    double end = wall_now();
    if (resp.date) {
        *server_time = resp.date;
        *local_time = (time_t)((start + end) / 2 + 0.5);
    } else if (req_rc && resp.status == 0) {
        *err = req_err; /* nothing answered: the connection error says why */
        rc = req_rc;
    } else {
        rc = ibs_err_set(err, IBS_E_STORAGE,
                         "s3: HEAD bucket %s at %s: the answer (HTTP %ld) has no Date header, so "
                         "the clock cannot be compared: check the endpoint",
                         store->bucket, store->url_base, resp.status);
    }
    s3_resp_free(&resp);
    store_s3_driver.close(store);
    return rc;
}

/* NotImplemented (501) or MethodNotAllowed (405): the endpoint lacks the call. */
static bool unsupported(const struct s3_resp *resp)
{
    return resp->status == 501 || resp->status == 405 ||
           strcmp(resp->code, "NotImplemented") == 0 || strcmp(resp->code, "MethodNotAllowed") == 0;
}

struct find_upload {
    const char *upload_id;
    bool found;
};

static int match_upload(void *arg, const char *key, const char *upload_id, time_t initiated)
{
    struct find_upload *fu = arg;
    (void)key;
    (void)initiated;
    if (strcmp(upload_id, fu->upload_id) == 0)
        fu->found = true;
    return 0;
}

/* One page of ListMultipartUploads under the probe's key is enough: the key
 * is random and holds only the upload just started. */
static void list_probe(struct s3_store *store, const char *full_key, const char *upload_id,
                       struct s3_multipart_report *report)
{
    struct s3_resp resp;
    struct ibs_err err;
    struct sigv4_param params[] = {{"prefix", full_key}, {"uploads", NULL}};
    struct s3_req req = {.method = "GET", .params = params, .n_params = 2, .what = "LIST UPLOADS"};
    struct find_upload fu = {.upload_id = upload_id};
    bool truncated = false;
    char *next_key = NULL, *next_id = NULL;

    s3_resp_init(&resp);
    if (s3_request(store, &req, &resp, &err) != 0) {
        if (unsupported(&resp)) {
            report->unsupported = true;
            snprintf(report->list_note, sizeof(report->list_note),
                     "ListMultipartUploads is not supported by this endpoint (%ld %s)", resp.status,
                     resp.code[0] ? resp.code : "");
        } else {
            snprintf(report->list_note, sizeof(report->list_note), "%s", err.msg);
        }
    } else if (s3_xml_list_uploads(s3_buf_str(&resp.body), resp.body.len, match_upload, &fu,
                                   &truncated, &next_key, &next_id) == -1) {
        snprintf(report->list_note, sizeof(report->list_note),
                 "ListMultipartUploads answered something that is not a "
                 "ListMultipartUploadsResult");
    } else if (!fu.found) {
        snprintf(report->list_note, sizeof(report->list_note),
                 "ListMultipartUploads does not show upload %.200s just started", upload_id);
    } else {
        report->listed = true;
    }
    free(next_key);
    free(next_id);
    s3_resp_free(&resp);
}

static int probe_part(struct s3_store *store, const char *full_key, const char *key,
                      const char *upload_id, struct ibs_err *err)
{
    char body[PROBE_PART_LEN], what[700];
    struct s3_resp resp;
    struct sigv4_param params[] = {{"partNumber", "1"}, {"uploadId", upload_id}};
    memset(body, 'p', sizeof(body));
    snprintf(what, sizeof(what), "PUT %s part 1", key);
    struct s3_req req = {.method = "PUT",
                         .key = full_key,
                         .params = params,
                         .n_params = 2,
                         .body = body,
                         .body_len = sizeof(body),
                         .content_md5 = true,
                         .headers = S3_H_SSE_C,
                         .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(store, &req, &resp, err);
    s3_resp_free(&resp);
    return rc;
}

static int probe_abort(struct s3_store *store, const char *full_key, const char *key,
                       const char *upload_id, struct s3_multipart_report *report,
                       struct ibs_err *err)
{
    char what[700];
    struct s3_resp resp;
    struct sigv4_param params[] = {{"uploadId", upload_id}};
    snprintf(what, sizeof(what), "ABORT UPLOAD %s", key);
    struct s3_req req = {
        .method = "DELETE", .key = full_key, .params = params, .n_params = 1, .what = what};
    s3_resp_init(&resp);
    int rc = s3_request(store, &req, &resp, err);
    if (!rc) {
        report->aborted = true;
    } else if (unsupported(&resp)) {
        report->unsupported = true;
        snprintf(report->abort_note, sizeof(report->abort_note),
                 "AbortMultipartUpload is not supported by this endpoint (%ld %s): a failed "
                 "backup's parts stay until removed by other means",
                 resp.status, resp.code[0] ? resp.code : "");
        ibs_err_clear(err);
        rc = 0;
    }
    s3_resp_free(&resp);
    return rc;
}

int s3_probe_multipart(const struct store_opts *opts, const char *key,
                       struct s3_multipart_report *report, struct ibs_err *err)
{
    struct s3_store *store = NULL;
    struct s3_resp resp;
    char upload_id[512], what[700];
    char *full_key = NULL;
    struct sigv4_param params[] = {{"uploads", NULL}};
    int rc;

    memset(report, 0, sizeof(*report));
    s3_resp_init(&resp);
    rc = probe_open(opts, &store, err);
    if (rc)
        goto out;
    full_key = s3_full_key(store, key);
    if (!full_key) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "s3: out of memory");
        goto out;
    }
    snprintf(what, sizeof(what), "CREATE UPLOAD %s", key);
    struct s3_req create = {.method = "POST",
                            .key = full_key,
                            .params = params,
                            .n_params = 1,
                            .body = "",
                            .headers = S3_H_CREATE | S3_H_SSE_C,
                            .what = what};
    rc = s3_request(store, &create, &resp, err);
    if (rc)
        goto out;
    if (!s3_xml_upload_id(s3_buf_str(&resp.body), resp.body.len, upload_id, sizeof(upload_id))) {
        rc = ibs_err_set(err, IBS_E_STORAGE,
                         "s3: %s: the answer carries no UploadId: check the endpoint", what);
        goto out;
    }
    rc = probe_part(store, full_key, key, upload_id, err);
    list_probe(store, full_key, upload_id, report);
    struct ibs_err abort_err;
    ibs_err_clear(&abort_err);
    int abort_rc = probe_abort(store, full_key, key, upload_id, report, &abort_err);
    if (!rc && abort_rc) {
        *err = abort_err;
        rc = abort_rc;
    }
out:
    s3_resp_free(&resp);
    free(full_key);
    if (store)
        store_s3_driver.close(store);
    return rc;
}
