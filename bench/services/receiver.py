"""A fast webhook receiver for bench/services/run.sh: HTTP/1.1 keep-alive on asyncio,
answers 204 to every POST, and appends "<receipt ms> <event timestamp ms> <webhook-id>"
per event to the file given, so the script can count deliveries and measure the lag
from the change's commit (the event's `timestamp`, the change log's `at`) to receipt."""
import asyncio, datetime, json, sys, time

out = open(sys.argv[2], "w", buffering=1)


def stamp(iso):
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, wid = 0, ""
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                k = k.strip().lower()
                if k == b"content-length":
                    length = int(v)
                elif k == b"webhook-id":
                    wid = v.strip().decode()
            body = await reader.readexactly(length)
            now = int(time.time() * 1000)
            event = json.loads(body)
            out.write(f"{now} {stamp(event['timestamp'])} {wid}\n")
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
