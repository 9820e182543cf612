"""Deterministic pseudo-English posts for the search benchmark: words drawn from a fixed
vocabulary with a Zipf-like distribution (a few words very common, most rare), a title of
4-10 words and a body of 40-120; 10% unpublished. Writes them straight into the database
(SQLite through Python's sqlite3 module, which runs ssot's triggers; PostgreSQL through
psql's COPY), and the queries wrk picks from.

Usage: seed.py sqlite PATH ROWS QUERIES | seed.py postgres URL ROWS QUERIES
"""
import random, subprocess, sys, io, csv

SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "su", "ti", "vo", "ze", "an", "el", "or", "us", "in", "et", "qua", "bri", "sto", "pel", "dar"]
rng = random.Random(42)
# 20,000 distinct words of 2-4 syllables, in a fixed order: rank 1 is the most common.
vocabulary, seen = [], set()
while len(vocabulary) < 20000:
    w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    if w not in seen:
        seen.add(w)
        vocabulary.append(w)
weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(vocabulary))]
cumulative, total = [], 0.0
for w in weights:
    total += w
    cumulative.append(total)

def words(n):
    return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=n))

def rows(count):
    for i in range(count):
        title = words(rng.randint(4, 10)).capitalize()
        body = words(rng.randint(40, 120)) + "."
        yield (title, body, "" , i % 10 != 0)

def queries(path):
    # What users type: a common, a middling or a rare word, two words, a word being typed.
    qs = []
    for _ in range(1000):
        kind = rng.random()
        pick = lambda lo, hi: vocabulary[rng.randint(lo, hi)]
        if kind < 0.3:
            q = pick(0, 50) + " "
        elif kind < 0.6:
            q = pick(50, 2000) + " "
        elif kind < 0.8:
            q = pick(0, 500) + " " + pick(0, 2000) + " "
        else:
            w = pick(20, 3000)
            q = w[: max(3, len(w) - 2)]
        qs.append(q)
    with open(path, "w") as f:
        f.write("\n".join(qs) + "\n")

kind, target, count, query_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if kind == "sqlite":
    import sqlite3
    db = sqlite3.connect(target)
    db.executemany('INSERT INTO "Post" (title, body, notes, published) VALUES (?, ?, ?, ?)', rows(count))
    db.commit()
else:
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL)  # "" is an empty string to COPY, not NULL
    for title, body, notes, published in rows(count):
        w.writerow([title, body, notes, "t" if published else "f"])
    subprocess.run(["psql", target, "-qc", '\\copy "Post" (title, body, notes, published) FROM STDIN CSV'],
                   input=buf.getvalue(), text=True, check=True)
queries(query_file)
