/* ibstream version: the program's version and those of the libraries it runs with. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <libxml/xmlversion.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <xxhash.h>
#include <zstd.h>

#include "tools/cli.h"

static const int version_options[] = {OPT_HELP, -1};

static int run_version(struct opts *o, int argc, char **argv, int first_arg, struct ibs_err *err)
{
    unsigned xxh = XXH_versionNumber();
    printf("ibstream %s\n", IBS_VERSION);
    printf("  libmariadb %s\n", mysql_get_client_info());
    printf("  liburing   %s\n", IBS_URING_VERSION); /* no run-time version call before 2.4 */
    printf("  zstd       %s\n", ZSTD_versionString());
    printf("  xxhash     %u.%u.%u\n", xxh / 10000, xxh / 100 % 100, xxh % 100);
    printf("  libcurl    %s\n", curl_version_info(CURLVERSION_NOW)->version);
    printf("  openssl    %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("  json-c     %s\n", json_c_version());
    printf("  libxml2    %s\n", LIBXML_DOTTED_VERSION);
    printf("  inih       %s\n", IBS_INIH_VERSION);
    return 0;
}

const struct cli_cmd cmd_version = {
    .name = "version",
    .summary = "print the version of ibstream and of the libraries it uses",
    .usage = "ibstream version",
    .description = NULL,
    .options = version_options,
    .run = run_version,
};
