/* The request engine and the writer against a scripted HTTP server on
 * 127.0.0.1: each connection gets the next scripted answer and is closed, and
 * the server records what it was sent. Covers retries and their exhaustion,
 * non-retryable codes, HEAD 404, CompleteMultipartUpload failing inside a 200
 * (the upload is then aborted), and the signed headers of a PUT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "s3/s3_http.h"
#include "s3/store_driver.h"
#include "tests/unit/s3/test_s3.h"

#define MAX_SCRIPT 16
#define REQ_MAX (64u << 10)

struct answer {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
};

struct script_server {
    int fd;
    int port;
    pthread_t thread;
    struct answer answers[MAX_SCRIPT];
    size_t n_answers;
    size_t served;           /* requests answered */
    char requests[MAX_SCRIPT][1024]; /* request line and headers, truncated */
};

/* Reads one request (headers and a Content-Length body) from fd. */
static void read_request(int fd, char *head, size_t head_size)
{
    static char buf[REQ_MAX];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    snprintf(head, head_size, "%.*s", (int)(end - buf), buf);
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t have = len - (size_t)(end + 4 - buf);
    /* Drain the body (bounded: the test bodies are small or a few MiB). */
    while (have < body) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return;
        have += (size_t)n;
    }
}

static void *serve(void *arg)
{
    struct script_server *s = arg;
    while (s->served < s->n_answers) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break; /* bounded: a client that never comes ends the server */
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        size_t i = s->served;
        read_request(c, s->requests[i], sizeof(s->requests[i]));
        const struct answer *a = &s->answers[i];
        char head[1024];
        const char *body = a->body ? a->body : "";
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nx-amz-request-id: REQ%zu\r\n"
                         "Connection: close\r\n%s\r\n",
                         a->status, strlen(body), i, a->headers ? a->headers : "");
        if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
            perror("script server write");
        s->served = i + 1;
        close(c);
    }
    return NULL;
}

static void server_start(struct script_server *s)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof(addr);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&addr, &addr_len), 0);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct script_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* Opens the S3 driver on the script server with millisecond backoff. */
static struct s3_store *open_on(const struct script_server *srv, unsigned retries,
                                uint64_t part_size)
{
    char endpoint[64];
    void *state = NULL;
    struct ibs_err err;
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", srv ? srv->port : 1);
    struct store_opts opts = {
        .url = "s3://bkt/pre",
        .endpoint = endpoint,
        .access_key = "AKIDTEST",
        .secret_key = "test-secret-key",
        .retries = retries,
        .part_size = part_size,
        .parts_in_flight = 2,
    };
    int rc = store_s3_driver.open(&opts, "bkt/pre", &state, &err);
    if (rc)
        fail_msg("open: %s", err.msg);
    struct s3_store *store = state;
    store->backoff_base_ms = 1;
    store->backoff_cap_ms = 5;
    return store;
}

static const char slow_down[] = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
                                "<Message>Reduce your request rate.</Message></Error>";

static void test_http_retry_then_success(void **state)
{
    (void)state;
    struct script_server srv = {
        .answers = {{503, NULL, slow_down},
                    {500, NULL, "<Error><Code>InternalError</Code></Error>"},
                    {200, NULL, "hello"}},
        .n_answers = 3,
    };
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 4, 0);
    void *data = NULL;
    size_t len = 0;
    struct ibs_err err;
    int rc = store_s3_driver.get(store, "obj", &data, &len, &err);
    if (rc)
        fail_msg("get: %s", err.msg);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    store_s3_driver.close(store);
    server_stop(&srv);
    assert_int_equal(srv.served, 3);
    /* Path-style addressing, the prefix before the key. */
    assert_non_null(strstr(srv.requests[2], "GET /bkt/pre/obj HTTP/1.1"));
}

static void test_http_retries_exhausted(void **state)
{
    (void)state;
    struct script_server srv = {
        .answers = {{503, NULL, slow_down}, {503, NULL, slow_down}, {503, NULL, slow_down}},
        .n_answers = 3,
    };
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 2, 0);
    struct ibs_err err;
    int rc = store_s3_driver.put(store, "backups/x/data.0003", "abc", 3, &err);
    store_s3_driver.close(store);
    server_stop(&srv);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_int_equal(srv.served, 3);
    assert_string_equal(err.msg, "s3: PUT backups/x/data.0003: 503 SlowDown after 2 retries: "
                                 "Reduce your request rate.");
}

static void test_http_not_retryable(void **state)
{
    (void)state;
    struct script_server srv = {
        .answers = {{403, NULL, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"},
                    {404, NULL, NULL}},
        .n_answers = 2,
    };
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 5, 0);
    struct ibs_err err;
    int rc = store_s3_driver.put(store, "k", "abc", 3, &err);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "s3: PUT k: 403 AccessDenied: the credentials (from explicit "
                                    "options) lack permission for PUT on s3://bkt/pre/k"));
    assert_null(strstr(err.msg, "test-secret-key"));
    /* HEAD answers have no body: a 404 is "not found" all the same. */
    struct store_stat st;
    rc = store_s3_driver.head(store, "missing", &st, &err);
    assert_int_equal(rc, IBS_E_NOTFOUND);
    store_s3_driver.close(store);
    server_stop(&srv);
    assert_int_equal(srv.served, 2);

    /* The PUT was signed, with the payload hash and Content-MD5 of "abc". */
    const char *put = srv.requests[0];
    assert_non_null(strstr(put, "PUT /bkt/pre/k HTTP/1.1"));
    assert_non_null(strstr(put, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
    assert_non_null(strstr(put, "/us-east-1/s3/aws4_request, SignedHeaders=content-md5;host;"
                                "x-amz-content-sha256;x-amz-date, Signature="));
    assert_non_null(strstr(put, "content-md5: kAFQmDzST7DWlj99KOF/cg=="));
    assert_non_null(strstr(
        put, "x-amz-content-sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

static void test_http_connection_refused(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens there. */
    struct s3_store *store = open_on(NULL, 1, 0);
    struct ibs_err err;
    struct store_stat st;
    int rc = store_s3_driver.head(store, "k", &st, &err);
    store_s3_driver.close(store);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "s3: HEAD k: connection error: "));
    assert_non_null(strstr(err.msg, "after 1 retries"));
}

static void test_http_complete_error_in_200(void **state)
{
    (void)state;
    struct script_server srv = {
        .answers = {{200, NULL,
                     "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>pre/big</Key>"
                     "<UploadId>UP1</UploadId></InitiateMultipartUploadResult>"},
                    {200, "ETag: \"e1\"\r\n", NULL},
                    {200, "ETag: \"e2\"\r\n", NULL},
                    {200, NULL,
                     "<?xml version=\"1.0\"?>\n<Error><Code>AccessDenied</Code>"
                     "<Message>nope</Message></Error>"},
                    {204, NULL, NULL}},
        .n_answers = 5,
    };
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 0, STORE_S3_MIN_PART_SIZE);
    store->retries = 0; /* the AccessDenied inside the 200 is not retried anyway */
    struct store_driver_writer *w;
    struct ibs_err err;
    size_t len = STORE_S3_MIN_PART_SIZE + 100;
    char *data = calloc(1, len);
    assert_non_null(data);
    assert_int_equal(store_s3_driver.writer_open(store, "big", &w, &err), 0);
    assert_int_equal(store_s3_driver.writer_write(w, data, len, &err), 0);
    assert_int_equal(store_s3_driver.writer_offset(w), len);
    assert_int_equal(store_s3_driver.writer_capacity(w), STORE_S3_MIN_PART_SIZE * 10000ull);
    int rc = store_s3_driver.writer_commit(w, &err);
    free(data);
    store_s3_driver.close(store);
    server_stop(&srv);
    assert_int_equal(rc, IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "COMPLETE UPLOAD big (2 parts): 200 with error AccessDenied"));
    assert_int_equal(srv.served, 5);
    assert_non_null(strstr(srv.requests[0], "POST /bkt/pre/big?uploads HTTP/1.1"));
    assert_non_null(strstr(srv.requests[3], "POST /bkt/pre/big?uploadId=UP1 HTTP/1.1"));
    /* The failed upload was aborted. */
    assert_non_null(strstr(srv.requests[4], "DELETE /bkt/pre/big?uploadId=UP1 HTTP/1.1"));
}

static const char access_denied[] =
    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";

/* AccessDenied names the IAM action to grant, per kind of request. */
static void test_http_access_denied_names_action(void **state)
{
    (void)state;
    struct script_server srv = {.n_answers = 5};
    for (size_t i = 0; i < srv.n_answers; i++)
        srv.answers[i] = (struct answer){403, NULL, access_denied};
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 0, 0);
    struct ibs_err err;
    void *data = NULL;
    size_t len = 0;

    assert_int_equal(store_s3_driver.put(store, "k", "abc", 3, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "lack permission for PUT on s3://bkt/pre/k (s3:PutObject)"));
    assert_int_equal(store_s3_driver.get(store, "k", &data, &len, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "(s3:GetObject)"));
    assert_int_equal(store_s3_driver.delete_one(store, "k", &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "(s3:DeleteObject)"));
    assert_int_equal(store_s3_driver.abort_upload(store, "k", "UP1", &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "(s3:AbortMultipartUpload)"));
    assert_int_equal(store_s3_driver.list(store, "", NULL, NULL, &err), IBS_E_STORAGE);
    assert_non_null(strstr(err.msg, "(s3:ListBucket)"));
    store_s3_driver.close(store);
    server_stop(&srv);
    assert_int_equal(srv.served, 5);
}

/* A large body with Content-MD5 goes as UNSIGNED-PAYLOAD even over http
 * (content-md5 is signed); a small one carries its SHA-256. */
static void test_http_unsigned_payload_with_md5(void **state)
{
    (void)state;
    struct script_server srv = {.answers = {{200, "ETag: \"e1\"\r\n", NULL},
                                            {200, "ETag: \"e2\"\r\n", NULL}},
                                .n_answers = 2};
    size_t big_len = 1u << 20;
    char *big = calloc(1, big_len);
    assert_non_null(big);
    server_start(&srv);
    struct s3_store *store = open_on(&srv, 0, 0);
    struct ibs_err err;
    if (store_s3_driver.put(store, "big", big, big_len, &err) != 0)
        fail_msg("put big: %s", err.msg);
    if (store_s3_driver.put(store, "small", "abc", 3, &err) != 0)
        fail_msg("put small: %s", err.msg);
    store_s3_driver.close(store);
    server_stop(&srv);
    free(big);
    assert_non_null(strcasestr(srv.requests[0], "x-amz-content-sha256: UNSIGNED-PAYLOAD"));
    assert_non_null(strcasestr(srv.requests[0], "content-md5: "));
    assert_non_null(strstr(srv.requests[0], "content-md5;"));
    /* SHA-256 of "abc". */
    assert_non_null(strcasestr(srv.requests[1], "x-amz-content-sha256: "
                                                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
                                                "b410ff61f20015ad"));
}

const struct CMUnitTest s3_http_tests[] = {
    cmocka_unit_test(test_http_access_denied_names_action),
    cmocka_unit_test(test_http_unsigned_payload_with_md5),
    cmocka_unit_test(test_http_retry_then_success),
    cmocka_unit_test(test_http_retries_exhausted),
    cmocka_unit_test(test_http_not_retryable),
    cmocka_unit_test(test_http_connection_refused),
    cmocka_unit_test(test_http_complete_error_in_200),
};
const size_t s3_http_tests_count = sizeof(s3_http_tests) / sizeof(s3_http_tests[0]);
