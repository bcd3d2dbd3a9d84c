#!/usr/bin/env python3
"""Writes the malformed-input corpus of this folder (see README.md). Deterministic."""
import gzip
import json
import os

os.chdir(os.path.dirname(os.path.abspath(__file__)))


def good(i):
    return json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": f"id-{i}",
                       "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/pods", "verb": "list",
                       "user": {"username": "system:serviceaccount:tools:inv"}, "sourceIPs": ["10.0.0.7"],
                       "userAgent": "inventory/1.0", "objectRef": {"resource": "pods", "namespace": "default", "apiVersion": "v1"},
                       "responseStatus": {"code": 200},
                       "requestReceivedTimestamp": "2026-11-20T10:00:0%d.000001Z" % (i % 10),
                       "stageTimestamp": "2026-11-20T10:00:0%d.250001Z" % (i % 10)}, separators=(",", ":"))


def w(name, data):
    with open(name, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


g = [good(i) for i in range(10)]
w("truncated-last-line.json", "\n".join(g[:3]) + "\n" + g[3][:120])
w("cut-mid-string.json", g[0] + "\n" + g[1][:60] + "\n" + g[2] + "\n")
bad_types = [
    '{"kind":"Event","auditID":7,"verb":"get"}',
    '{"kind":"Event","auditID":"x","stage":[],"verb":"get"}',
    '{"kind":"Event","auditID":"x","verb":true}',
    '{"kind":"Event","auditID":"x","verb":"get","level":{}}',
    '{"kind":"Event","auditID":"x","verb":"get","requestURI":1.5}',
    '{"kind":"Event","auditID":"x","verb":"get","userAgent":["ua"]}',
    '{"kind":"Event","auditID":"x","verb":"get","user":"alice"}',
    '{"kind":"Event","auditID":"x","verb":"get","user":{"username":42}}',
    '{"kind":"Event","auditID":"x","verb":"get","sourceIPs":"10.0.0.1"}',
    '{"kind":"Event","auditID":"x","verb":"get","sourceIPs":[1]}',
    '{"kind":"Event","auditID":"x","verb":"get","objectRef":"pods"}',
    '{"kind":"Event","auditID":"x","verb":"get","objectRef":{"resource":false}}',
    '{"kind":"Event","auditID":"x","verb":"get","objectRef":{"namespace":1}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":"two hundred"}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":[200]}',
    '{"kind":"Event","auditID":"x","verb":"get","requestReceivedTimestamp":1700000000}',
    '{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":{}}',
]
w("wrong-types.json", g[0] + "\n" + "\n".join(bad_types) + "\n" + g[1] + "\n")
bad_ts = [
    '{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"2026-11-20 10:00"}',
    '{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"2026-02-30T10:00:00Z"}',
    '{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"2026-11-20T25:00:00Z"}',
    '{"kind":"Event","auditID":"x","verb":"get","requestReceivedTimestamp":"3000-01-01T00:00:00Z"}',
    '{"kind":"Event","auditID":"x","verb":"get","stageTimestamp":"2026-11-20T10:00:00.1234567891Z"}',
]
w("bad-timestamps.json", g[0] + "\n" + "\n".join(bad_ts) + "\n" + g[1] + "\n")
w("invalid-utf8.json", (g[0] + "\n").encode() + g[1].encode().replace(b"inventory/1.0", b"inv\xff\xfeentory") + b"\n" + (g[2] + "\n").encode())
w("bom-crlf-blank.json", "\ufeff" + g[0] + "\r\n\r\n   \r\n" + g[1] + "\r\n\t\n" + g[2] + "\r\n")
deep = '{"kind":"Event","auditID":"x","verb":"get","annotations":' + "[" * 10000 + "]" * 10000 + "}"
w("deep-nesting.json", g[0] + "\n" + deep + "\n" + g[1] + "\n")
dup = '{"kind":"Event","auditID":"dup","verb":"get","verb":"list","stageTimestamp":"2026-11-20T10:00:00Z"}'
w("duplicate-keys.json", dup + "\n" + g[1] + "\n")
aks = json.dumps({"TimeGenerated": "2026-11-20T10:00:00.1234567Z", "AuditId": "a", "Verb": "get", "RequestUri": "/api", "Type": "AKSAudit"})
w("mixed-shapes.json", g[0] + "\n" + aks + "\n" + g[1] + "\n" + aks + "\n" + g[2] + "\n")
gz = gzip.compress(("\n".join(g) + "\n").encode() * 20, mtime=0)
w("truncated.json.gz", gz[: len(gz) * 2 // 3])


def arch(log):
    return {"time": "2026-11-20T10:00:00.0000000Z", "category": "kube-audit", "properties": {"log": log + "\n"}}


w("records-one-bad-element.json", json.dumps({"records": [arch(g[0]), arch(g[1][:50]), arch(g[2])]}) + "\n")
codes = [
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":NaN}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":1e400}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":99999999999999999999}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":3000000000}}',
    '{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":200.5}}',
]
w("status-code-numbers.json", g[0] + "\n" + "\n".join(codes) + "\n" + g[1] + "\n")
