"""Seeds N posts into ssot (bulk endpoint) or PocketBase (one request each, 8 threads),
then writes their ids to a file. Usage: seed.py ssot|pocketbase BASE_URL AUTH IDS_FILE N"""
import json, sys, threading, urllib.request

kind, base, auth, ids_file, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def post(path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": auth})
    with urllib.request.urlopen(request) as response:
        return json.load(response)

def row(i):
    return {"title": f"post {i}", "body": "body text of a benchmark post " * 4, "published": i % 2 == 0, "views": i % 1000}

if kind == "ssot":
    for start in range(0, n, 1000):
        post("/api/posts/bulk", {"data": [row(i) for i in range(start, min(n, start + 1000))]})
    ids, skip = [], 0
    while True:
        page = json.load(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/posts?take=1000&skip={skip}&select=%7B%22id%22%3Atrue%7D", headers={"Authorization": auth})))
        ids += [r["id"] for r in page["data"]]
        skip += 1000
        if not page["meta"]["hasMore"]:
            break
else:
    ids, lock = [], threading.Lock()
    def work(part):
        for i in range(part, n, 8):
            record = post("/api/collections/posts/records", row(i))
            with lock:
                ids.append(record["id"])
    threads = [threading.Thread(target=work, args=(p,)) for p in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
open(ids_file, "w").write("\n".join(ids) + "\n")
print(f"{kind}: seeded {len(ids)} posts")
