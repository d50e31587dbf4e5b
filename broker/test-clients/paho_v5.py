#!/usr/bin/env python3
"""MQTT 5 scenarios driven with Debian's python3-paho-mqtt 1.6.1, an MQTT client nobody here wrote.

Usage: paho_v5.py <scenario> <port>. Prints one JSON object (what the client saw) on its last line;
the vitest suite broker/src/server/mqtt5/paho.e2e.test.ts asserts on it. Waits are bounded, never
asserted on: a scenario that does not see what it waits for reports what it saw instead.
"""
import json
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST = "127.0.0.1"
WAIT = 10.0


class Client(mqtt.Client):
    """paho 1.6.1 parses the reason code of a PUBACK and of a short DISCONNECT but does not hand it
    over; this records them from the packet paho already read (packet layout: MQTT 5 §3.4, §3.14)."""

    def __init__(self, client_id, **kwargs):
        super().__init__(client_id=client_id, protocol=mqtt.MQTTv5, **kwargs)
        self.puback_codes = {}
        self.disconnect_code = None
        self.messages = []
        self.connack = None
        self.subacks = {}
        self.connected = threading.Event()
        self.gone = threading.Event()
        self.acked = threading.Condition()
        self.on_connect = self._connected
        self.on_message = self._message
        self.on_subscribe = self._subscribed
        self.on_disconnect = self._disconnected

    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet["packet"]
        mid = struct.unpack("!H", packet[:2])[0]
        with self.acked:
            self.puback_codes[mid] = packet[2] if len(packet) > 2 else 0
            self.acked.notify_all()
        return super()._handle_pubackcomp(cmd)

    def _handle_disconnect(self):
        packet = self._in_packet["packet"]
        self.disconnect_code = packet[0] if len(packet) > 0 else 0
        return super()._handle_disconnect()

    def _connected(self, _c, _u, flags, rc, properties):
        self.connack = {
            "reasonCode": rc.value,
            "sessionPresent": bool(flags.get("session present")),
            "properties": props(properties),
        }
        self.connected.set()

    def _message(self, _c, _u, msg):
        self.messages.append(
            {
                "topic": msg.topic,
                "payload": msg.payload.decode("latin-1"),
                "retain": bool(msg.retain),
                "qos": msg.qos,
                "properties": props(getattr(msg, "properties", None)),
            }
        )

    def _subscribed(self, _c, _u, mid, reason_codes, _properties):
        self.subacks[mid] = [rc.value for rc in reason_codes]

    def _disconnected(self, _c, _u, rc, _properties=None):
        self.gone.set()

    def open(self, port, clean_start=True, keepalive=60, properties=None):
        self.connect(HOST, port, keepalive=keepalive, clean_start=clean_start, properties=properties)
        self.loop_start()
        self.connected.wait(WAIT)
        return self

    def close(self):
        self.disconnect()
        self.loop_stop()

    def sub(self, topic, options=None, properties=None):
        _rc, mid = self.subscribe(topic, options=options or SubscribeOptions(qos=1), properties=properties)
        until(lambda: mid in self.subacks)
        return self.subacks.get(mid)

    def pub(self, topic, payload, qos=1, retain=False, properties=None):
        info = self.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos > 0:
            until(lambda: info.mid in self.puback_codes)
            return self.puback_codes.get(info.mid)
        return None


def props(properties):
    if properties is None:
        return {}
    out = {}
    for name in properties.names:
        attr = name.replace(" ", "")
        if hasattr(properties, attr):
            value = getattr(properties, attr)
            if isinstance(value, bytes):
                value = list(value)
            out[attr] = value
    return out


def until(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def connect_props(**values):
    p = Properties(PacketTypes.CONNECT)
    for key, value in values.items():
        setattr(p, key, value)
    return p


def publish_props(**values):
    p = Properties(PacketTypes.PUBLISH)
    for key, value in values.items():
        setattr(p, key, value)
    return p


def payloads(client):
    return [m["payload"] for m in client.messages]


def scenario_connack(port):
    anonymous = Client("").open(port, keepalive=0)
    modest = Client("paho-modest").open(port, keepalive=30)
    result = {"assigned": anonymous.connack, "modest": modest.connack}
    anonymous.close()
    modest.close()
    return result


def scenario_session_expiry(port):
    kept = Client("paho-kept").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=600))
    kept.sub("paho/expiry/session")
    short = Client("paho-short").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=1))
    short.sub("paho/expiry/session")
    kept.close()
    short.close()
    publisher = Client("paho-expiry-pub").open(port)
    publisher.pub("paho/expiry/session", "while away")
    time.sleep(2.2)  # past the short session's expiry interval
    kept = Client("paho-kept").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=600))
    until(lambda: len(kept.messages) > 0)
    short = Client("paho-short").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=1))
    result = {
        "kept": {"sessionPresent": kept.connack["sessionPresent"], "messages": payloads(kept)},
        "expired": {"sessionPresent": short.connack["sessionPresent"]},
    }
    for c in (kept, short, publisher):
        c.close()
    return result


def scenario_message_expiry(port):
    away = Client("paho-msg-expiry").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=600))
    away.sub("paho/expiry/message")
    away.close()
    publisher = Client("paho-msg-expiry-pub").open(port)
    publisher.pub("paho/expiry/message", "short-lived", properties=publish_props(MessageExpiryInterval=1))
    publisher.pub("paho/expiry/message", "long-lived", properties=publish_props(MessageExpiryInterval=3600))
    time.sleep(1.3)
    back = Client("paho-msg-expiry").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=600))
    until(lambda: len(back.messages) > 0)
    time.sleep(0.3)
    result = {"messages": back.messages}
    back.close()
    publisher.close()
    return result


def scenario_alias_in(port):
    sub = Client("paho-alias-in-sub").open(port)
    sub.sub("paho/alias/in/#")
    pub = Client("paho-alias-in-pub").open(port)
    first = pub.pub("paho/alias/in/one", "first", properties=publish_props(TopicAlias=2))
    second = pub.pub("", "second", properties=publish_props(TopicAlias=2))
    until(lambda: len(sub.messages) >= 2)
    rogue = Client("paho-alias-in-rogue").open(port)
    rogue.publish("", "x", qos=0, properties=publish_props(TopicAlias=9))  # never set
    rogue.gone.wait(WAIT)
    result = {
        "acks": [first, second],
        "messages": [[m["topic"], m["payload"]] for m in sub.messages],
        "rogueDisconnect": rogue.disconnect_code,
    }
    for c in (sub, pub):
        c.close()
    rogue.loop_stop()
    return result


def scenario_alias_out(port):
    aliased = Client("paho-alias-out").open(port, properties=connect_props(TopicAliasMaximum=1))
    aliased.sub("paho/alias/out/#")
    pub = Client("paho-alias-out-pub").open(port)
    for topic, payload in [("a", "1"), ("a", "2"), ("b", "3"), ("a", "4")]:
        pub.pub("paho/alias/out/" + topic, payload)
    until(lambda: len(aliased.messages) >= 4)
    # paho 1.6.1 does not resolve aliases itself: it shows the topic and alias as they came on the wire.
    result = {"wire": [[m["topic"], m["properties"].get("TopicAlias"), m["payload"]] for m in aliased.messages]}
    aliased.close()
    pub.close()
    return result


def scenario_shared(port):
    members = [Client("paho-share-%d" % i).open(port) for i in range(2)]
    grants = [m.sub("$share/paho-workers/paho/share/jobs") for m in members]
    pub = Client("paho-share-pub").open(port)
    sent = ["job-%d" % i for i in range(10)]
    for p in sent:
        pub.pub("paho/share/jobs", p)
    until(lambda: sum(len(m.messages) for m in members) >= 10)
    time.sleep(0.2)
    result = {"grants": grants, "sent": sent, "received": [payloads(m) for m in members]}
    for c in members + [pub]:
        c.close()
    return result


def scenario_sub_options(port):
    me = Client("paho-opts-me").open(port)
    other = Client("paho-opts-other").open(port)
    me.sub("paho/opts/nl", SubscribeOptions(qos=1, noLocal=True))
    me.pub("paho/opts/nl", "mine")
    other.pub("paho/opts/nl", "theirs")
    until(lambda: len(me.messages) >= 1)
    rap = Client("paho-opts-rap").open(port)
    rap.sub("paho/opts/rap", SubscribeOptions(qos=1, retainAsPublished=True, retainHandling=2))
    norap = Client("paho-opts-norap").open(port)
    norap.sub("paho/opts/rap", SubscribeOptions(qos=1, retainAsPublished=False, retainHandling=2))
    other.pub("paho/opts/rap", "kept", retain=True)
    until(lambda: rap.messages and norap.messages)
    other.pub("paho/opts/rh", "retained", retain=True)
    handling = {}
    for rh in (0, 1, 2):
        c = Client("paho-opts-rh%d" % rh).open(port)
        c.sub("paho/opts/rh", SubscribeOptions(qos=1, retainHandling=rh))
        c.sub("paho/opts/rh", SubscribeOptions(qos=1, retainHandling=rh))
        c.sub("paho/opts/marker")
        other.pub("paho/opts/marker", "marker")
        until(lambda: "marker" in payloads(c))
        handling[str(rh)] = [p for p in payloads(c) if p != "marker"]
        c.close()
    result = {
        "noLocal": payloads(me),
        "rap": [m["retain"] for m in rap.messages],
        "noRap": [m["retain"] for m in norap.messages],
        "retainHandling": handling,
    }
    for c in (me, other, rap, norap):
        c.close()
    return result


def scenario_sub_id(port):
    pub = Client("paho-sid-pub").open(port)
    pub.pub("paho/sid/retained", "r", retain=True)
    sub = Client("paho-sid-sub").open(port)
    sp = Properties(PacketTypes.SUBSCRIBE)
    sp.SubscriptionIdentifier = 42
    sub.sub("paho/sid/#", properties=sp)
    pub.pub("paho/sid/live", "l")
    until(lambda: len(sub.messages) >= 2)
    result = {"ids": [m["properties"].get("SubscriptionIdentifier") for m in sub.messages]}
    sub.close()
    pub.close()
    return result


def scenario_properties(port):
    sub = Client("paho-props-sub").open(port)
    sub.sub("paho/props/req")
    pub = Client("paho-props-pub").open(port)
    p = publish_props(
        ContentType="application/json",
        PayloadFormatIndicator=1,
        ResponseTopic="paho/props/res/42",
        CorrelationData=bytes([0xCA, 0xFE, 0x00, 0x01]),
    )
    p.UserProperty = ("vehicle", "car-1")
    p.UserProperty = ("trace", "a")
    pub.pub("paho/props/req", '{"ok":true}', properties=p)
    until(lambda: len(sub.messages) >= 1)
    result = {"properties": sub.messages[0]["properties"] if sub.messages else None}
    sub.close()
    pub.close()
    return result


def scenario_reason_codes(port):
    # The development policy refuses $-topics to anyone but an admin.
    c = Client("paho-reasons").open(port)
    suback = c.sub("$SYS/#")
    mixed = c.subscribe([("$SYS/#", SubscribeOptions(qos=1)), ("paho/ok", SubscribeOptions(qos=1))])
    until(lambda: mixed[1] in c.subacks)
    puback = c.pub("$SYS/paho", "x")
    bad = c.pub("paho/pfi", bytes([0xC3, 0x28]), properties=publish_props(PayloadFormatIndicator=1))
    fine = c.pub("paho/ok", "fine")
    still_up = c.is_connected()
    c.publish("paho/pfi", bytes([0xC3, 0x28]), qos=0, properties=publish_props(PayloadFormatIndicator=1))
    c.gone.wait(WAIT)
    result = {
        "suback": suback,
        "mixed": c.subacks.get(mixed[1]),
        "puback": puback,
        "payloadFormat": bad,
        "fine": fine,
        "stillConnected": still_up,
        "disconnect": c.disconnect_code,
    }
    c.loop_stop()
    return result


def scenario_packet_size(port):
    small = Client("paho-small").open(port, properties=connect_props(MaximumPacketSize=256))
    small.sub("paho/size/out")
    pub = Client("paho-size-pub").open(port)
    pub.pub("paho/size/out", "x" * 1000)
    pub.pub("paho/size/out", "small")
    until(lambda: len(small.messages) >= 1)
    time.sleep(0.2)
    big = Client("paho-too-big").open(port)
    big.publish("paho/size/in", "y" * 5000, qos=0)
    big.gone.wait(WAIT)
    result = {
        "delivered": payloads(small),
        "smallConnected": small.is_connected(),
        "bigDisconnect": big.disconnect_code,
        "maximumPacketSize": pub.connack["properties"].get("MaximumPacketSize"),
    }
    small.close()
    pub.close()
    big.loop_stop()
    return result


def scenario_will_delay(port):
    watcher = Client("paho-will-watcher").open(port)
    watcher.sub("paho/will/#")
    clients = {}
    for name in ("late", "back"):
        c = Client("paho-will-" + name)
        wp = Properties(PacketTypes.WILLMESSAGE)
        wp.WillDelayInterval = 1
        c.will_set("paho/will/" + name, "gone", qos=1, properties=wp)
        c.open(port, properties=connect_props(SessionExpiryInterval=60))
        clients[name] = c
    for c in clients.values():
        c.loop_stop()
        c.socket().close()  # an unclean end: the will is due
    back = Client("paho-will-back").open(port, clean_start=False, properties=connect_props(SessionExpiryInterval=60))
    until(lambda: len(watcher.messages) >= 1)
    time.sleep(1.5)  # past the delay: a will that was not cancelled would be here by now
    result = {"wills": [m["topic"] for m in watcher.messages]}
    watcher.close()
    back.close()
    return result


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}

if __name__ == "__main__":
    name, port = sys.argv[1], int(sys.argv[2])
    print(json.dumps(SCENARIOS[name](port)))
