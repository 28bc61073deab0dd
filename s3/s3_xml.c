/* S3 XML responses (see s3_xml.h). Element names are matched without their
 * namespace: S3 answers in http://s3.amazonaws.com/doc/2006-03-01/, emulators
 * sometimes in none. */
#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "s3/s3_buf.h"

static xmlDocPtr parse(const char *body, size_t len)
{
    if (!body || len == 0 || len > (size_t)INT32_MAX)
        return NULL;
    return xmlReadMemory(body, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static bool named(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
        if (named(n, name))
            return n;
    }
    return NULL;
}

/* The text of parent's child name, malloc'd; NULL if absent. */
static char *child_text(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = child(parent, name);
    if (!n)
        return NULL;
    xmlChar *text = xmlNodeGetContent(n);
    char *copy = strdup(text ? (const char *)text : "");
    xmlFree(text);
    return copy;
}

static void copy_text(xmlNodePtr parent, const char *name, char *out, size_t size)
{
    char *text = child_text(parent, name);
    snprintf(out, size, "%s", text ? text : "");
    free(text);
}

static bool child_true(xmlNodePtr parent, const char *name)
{
    char *text = child_text(parent, name);
    bool yes = text && strcmp(text, "true") == 0;
    free(text);
    return yes;
}

bool s3_xml_error(const char *body, size_t len, char *code, size_t code_size, char *msg,
                  size_t msg_size)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    bool is_error = root && named(root, "Error");
    if (is_error) {
        copy_text(root, "Code", code, code_size);
        copy_text(root, "Message", msg, msg_size);
    }
    xmlFreeDoc(doc);
    return is_error;
}

bool s3_xml_upload_id(const char *body, size_t len, char *out, size_t out_size)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    bool ok = false;
    if (root && named(root, "InitiateMultipartUploadResult") && child(root, "UploadId")) {
        copy_text(root, "UploadId", out, out_size);
        ok = out[0] != '\0';
    }
    xmlFreeDoc(doc);
    return ok;
}

time_t s3_xml_parse_time(const char *iso8601)
{
    struct tm tm = {0};
    /* Field widths keep a garbled or hostile date from overflowing an int
     * (sscanf's %d on "-2147483648", then - 1900). */
    if (!iso8601 || sscanf(iso8601, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6 ||
        tm.tm_year < 1970)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

int s3_xml_list_objects(const char *body, size_t len,
                        int (*fn)(void *ctx, const char *key, uint64_t size, time_t mtime),
                        void *ctx, bool *truncated, char **token)
{
    int rc = 0;
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

    *truncated = false;
    *token = NULL;
    if (!root || !named(root, "ListBucketResult")) {
        rc = -1;
        goto out;
    }
    for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
        if (!named(n, "Contents"))
            continue;
        char *key = child_text(n, "Key");
        char *size = child_text(n, "Size");
        char *mtime = child_text(n, "LastModified");
        if (key)
            rc = fn(ctx, key, size ? strtoull(size, NULL, 10) : 0, s3_xml_parse_time(mtime));
        free(key);
        free(size);
        free(mtime);
    }
    *truncated = child_true(root, "IsTruncated");
    *token = child_text(root, "NextContinuationToken");
out:
    xmlFreeDoc(doc);
    return rc;
}

int s3_xml_list_uploads(const char *body, size_t len,
                        int (*fn)(void *ctx, const char *key, const char *upload_id,
                                  time_t initiated),
                        void *ctx, bool *truncated, char **key_marker, char **upload_id_marker)
{
    int rc = 0;
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

    *truncated = false;
    *key_marker = NULL;
    *upload_id_marker = NULL;
    if (!root || !named(root, "ListMultipartUploadsResult")) {
        rc = -1;
        goto out;
    }
    for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
        if (!named(n, "Upload"))
            continue;
        char *key = child_text(n, "Key");
        char *id = child_text(n, "UploadId");
        char *initiated = child_text(n, "Initiated");
        if (key && id)
            rc = fn(ctx, key, id, s3_xml_parse_time(initiated));
        free(key);
        free(id);
        free(initiated);
    }
    *truncated = child_true(root, "IsTruncated");
    *key_marker = child_text(root, "NextKeyMarker");
    *upload_id_marker = child_text(root, "NextUploadIdMarker");
out:
    xmlFreeDoc(doc);
    return rc;
}

bool s3_xml_delete_error(const char *body, size_t len, char *key, size_t key_size, char *code,
                         size_t code_size, char *msg, size_t msg_size, bool *bad)
{
    xmlDocPtr doc = parse(body, len);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    bool found = false;

    *bad = !root || !named(root, "DeleteResult");
    for (xmlNodePtr n = root && !*bad ? root->children : NULL; n; n = n->next) {
        if (named(n, "Error")) {
            copy_text(n, "Key", key, key_size);
            copy_text(n, "Code", code, code_size);
            copy_text(n, "Message", msg, msg_size);
            found = true;
            break;
        }
    }
    xmlFreeDoc(doc);
    return found;
}

void s3_xml_escape(struct s3_buf *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': s3_buf_puts(out, "&amp;"); break;
        case '<': s3_buf_puts(out, "&lt;"); break;
        case '>': s3_buf_puts(out, "&gt;"); break;
        case '"': s3_buf_puts(out, "&quot;"); break;
        case '\'': s3_buf_puts(out, "&apos;"); break;
        default: s3_buf_append(out, p, 1);
        }
    }
}
