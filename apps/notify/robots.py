"""DingTalk and WeCom: group-robot messages and work notifications to one person.

Robots: POST JSON to the robot's webhook URL. DingTalk robots with a signing secret need
`timestamp` and `sign` = base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")) as query
parameters; mentions go in `at.atMobiles` (and "@mobile" in the text). WeCom robots take
`mentioned_mobile_list` in text messages. Both answer `{"errcode": 0}` on success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from django.core.cache import cache

from . import httpclient as http
from .models import Provider, Robot, WorkApp


class RobotError(Exception):
    pass


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(robot: Robot, *, now_ms: int | None = None) -> str:
    if robot.provider != Provider.DINGTALK or not robot.secret:
        return robot.webhook_url
    ts = now_ms if now_ms is not None else int(time.time() * 1000)
    query = urllib.parse.urlencode({"timestamp": ts, "sign": dingtalk_sign(robot.secret, ts)})
    sep = "&" if "?" in robot.webhook_url else "?"
    return f"{robot.webhook_url}{sep}{query}"


def robot_payload(robot: Robot, *, title: str, text: str, mobiles: list[str]) -> dict:
    mobiles = [m for m in mobiles if m]
    if robot.provider == Provider.DINGTALK:
        mention = "".join(f" @{m}" for m in mobiles)
        at = {"atMobiles": mobiles, "isAtAll": False}
        if robot.format == Robot.Format.MARKDOWN:
            return {
                "msgtype": "markdown",
                "markdown": {
                    "title": title or text[:30],
                    "text": f"#### {title}\n\n{text}{mention}",
                },
                "at": at,
            }
        return {"msgtype": "text", "text": {"content": f"{text}{mention}"}, "at": at}
    # WeCom: markdown has no mention list; text does.
    if robot.format == Robot.Format.MARKDOWN and not mobiles:
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    return {
        "msgtype": "text",
        "text": {
            "content": f"{title}\n{text}" if title else text,
            "mentioned_mobile_list": mobiles,
        },
    }


def _check(resp: http.Response) -> http.Response:
    data = resp.json()
    if not resp.ok:
        raise RobotError(f"HTTP {resp.status}: {resp.body[:300]}")
    if isinstance(data, dict) and data.get("errcode", 0) not in (0, "0"):
        raise RobotError(f"errcode {data.get('errcode')}: {data.get('errmsg', '')}")
    return resp


def send_robot(robot: Robot, *, title: str, text: str, mobiles: list[str]) -> http.Response:
    payload = robot_payload(robot, title=title, text=text, mobiles=mobiles)
    return _check(http.post_json(signed_url(robot), payload))


# --- work notifications (one person, by their DingTalk/WeCom user id) -------------------------
def _token(app: WorkApp) -> str:
    key = f"weft:workapp:token:{app.provider}:{app.app_key}"
    token = cache.get(key)
    if token:
        return token
    q = urllib.parse.urlencode
    if app.provider == Provider.DINGTALK:
        url = f"{app.base}/gettoken?{q({'appkey': app.app_key, 'appsecret': app.app_secret})}"
    else:
        query = q({"corpid": app.app_key, "corpsecret": app.app_secret})
        url = f"{app.base}/cgi-bin/gettoken?{query}"
    data = _check(http.get(url)).json() or {}
    token = data.get("access_token")
    if not token:
        raise RobotError("no access_token in the answer")
    cache.set(key, token, max(60, int(data.get("expires_in", 7200)) - 300))
    return token


def send_work_notice(app: WorkApp, *, user_id: str, title: str, text: str) -> http.Response:
    token = urllib.parse.quote(_token(app))
    if app.provider == Provider.DINGTALK:
        url = f"{app.base}/topapi/message/corpconversation/asyncsend_v2?access_token={token}"
        payload = {
            "agent_id": app.agent_id,
            "userid_list": user_id,
            "msg": {"msgtype": "markdown", "markdown": {"title": title, "text": text}},
        }
    else:
        url = f"{app.base}/cgi-bin/message/send?access_token={token}"
        payload = {
            "touser": user_id,
            "msgtype": "markdown",
            "agentid": app.agent_id,
            "markdown": {"content": f"**{title}**\n{text}"},
        }
    return _check(http.post_json(url, payload))
