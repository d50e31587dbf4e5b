#!/usr/bin/env python3
"""One member of an MQTT 5 shared subscription, driven with Debian's python3-paho-mqtt 1.6.1.

Usage: paho_shared_member.py <port> <client id> <$share/group/filter>. Prints `ready` (with the SUBACK
reason code) once subscribed, then records every message until its stdin closes, and prints one JSON
object with the payloads it received on its last line (broker/src/cluster-shared/*.e2e.test.ts).
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt

port, client_id, share = int(sys.argv[1]), sys.argv[2], sys.argv[3]
payloads = []
subscribed = threading.Event()
suback = []

client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
client.on_message = lambda _c, _u, msg: payloads.append(msg.payload.decode())


def on_subscribe(_c, _u, _mid, reason_codes, _properties):
    suback.extend(rc.value for rc in reason_codes)
    subscribed.set()


def on_connect(c, _u, _flags, rc, _properties):
    c.subscribe(share, qos=1)


client.on_subscribe = on_subscribe
client.on_connect = on_connect
client.connect("127.0.0.1", port, keepalive=60, clean_start=True)
client.loop_start()
if not subscribed.wait(10):
    print(json.dumps({"error": "no SUBACK within 10 s"}), flush=True)
    sys.exit(1)
print("ready %d" % suback[0], flush=True)
sys.stdin.read()
client.disconnect()
client.loop_stop()
print(json.dumps({"suback": suback, "payloads": payloads}), flush=True)
