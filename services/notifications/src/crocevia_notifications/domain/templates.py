"""What a notice says, in the reader's language (Italian and English; Italian is the
fallback). Only public facts are filled in: agencies, service, priority, status, a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crocevia_notifications.domain.notices import Notice, NoticeKind

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"

TITLES: dict[str, dict[str, str]] = {
    "it": {
        "requested": "Nuovo invio da {sender} per {service}",
        "received": "{receiver} ha ricevuto il vostro invio",
        "accepted": "{receiver} ha accettato il vostro invio",
        "rejected": "{receiver} ha rifiutato il vostro invio",
        "in-progress": "Invio in corso presso {receiver}",
        "on-hold": "Invio sospeso presso {receiver}",
        "completed": "Invio completato presso {receiver}",
        "failed": "Invio non riuscito presso {receiver}",
        "cancelled": "{sender} ha annullato un invio",
        "info-requested": "{by} chiede altre informazioni su un invio",
        "info-provided": "{by} ha inviato le informazioni richieste",
        "consent-withdrawn": "Consenso revocato: cancellate i dati personali dell'invio",
        "personal-data-erased": "{by} ha cancellato i dati personali dell'invio",
        "message-sent": "Nuovo messaggio da {by} su un invio",
        "reminder:receive": "Promemoria: un invio da {sender} non risulta ancora ricevuto",
        "reminder:decide": "Promemoria: un invio da {sender} attende di essere accettato o rifiutato",
        "escalation:receive": "Segnalazione: un invio {priority} da {sender} non è stato ricevuto in tempo",
        "escalation:decide": "Segnalazione: un invio {priority} da {sender} attende una decisione oltre i tempi",
        "digest": "Crocevia: {count} notifiche",
    },
    "en": {
        "requested": "New referral from {sender} for {service}",
        "received": "{receiver} received your referral",
        "accepted": "{receiver} accepted your referral",
        "rejected": "{receiver} rejected your referral",
        "in-progress": "Referral in progress at {receiver}",
        "on-hold": "Referral on hold at {receiver}",
        "completed": "Referral completed at {receiver}",
        "failed": "Referral could not be completed at {receiver}",
        "cancelled": "{sender} cancelled a referral",
        "info-requested": "{by} asks for more information about a referral",
        "info-provided": "{by} sent the information asked for",
        "consent-withdrawn": "Consent withdrawn: erase the referral's personal details",
        "personal-data-erased": "{by} erased the referral's personal details",
        "message-sent": "New message from {by} about a referral",
        "reminder:receive": "Reminder: a referral from {sender} has not been received yet",
        "reminder:decide": "Reminder: a referral from {sender} waits to be accepted or rejected",
        "escalation:receive": "Escalation: a {priority} referral from {sender} was not received in time",
        "escalation:decide": "Escalation: a {priority} referral from {sender} is past its decision target",
        "digest": "Crocevia: {count} notifications",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "it": {
        "referral": "Invio",
        "from": "Da",
        "to": "A",
        "service": "Servizio",
        "priority": "Priorità",
        "status": "Stato",
        "reason": "Motivo",
        "open": "Apri",
        "since": "Inviato il",
    },
    "en": {
        "referral": "Referral",
        "from": "From",
        "to": "To",
        "service": "Service",
        "priority": "Priority",
        "status": "Status",
        "reason": "Reason",
        "open": "Open",
        "since": "Sent on",
    },
}

WORDS: dict[str, dict[str, str]] = {
    "it": {
        "routine": "ordinario",
        "urgent": "urgente",
        "asap": "prioritario",
        "stat": "immediato",
        "requested": "inviato",
        "received": "ricevuto",
        "accepted": "accettato",
        "rejected": "rifiutato",
        "in-progress": "in corso",
        "on-hold": "sospeso",
        "completed": "completato",
        "failed": "non riuscito",
        "cancelled": "annullato",
    },
    "en": {"in-progress": "in progress", "on-hold": "on hold", "asap": "as soon as possible"},
}


@dataclass(frozen=True, slots=True)
class Names:
    """Display names from the directory; ids stand in for what is not known."""

    agencies: dict[str, str]
    services: dict[str, str]

    def agency(self, agency_id: str) -> str:
        return self.agencies.get(agency_id, agency_id)

    def service(self, service_id: str) -> str:
        return self.services.get(service_id, service_id)


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str


def language_of(preferred: str | None) -> str:
    code = (preferred or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def _word(lang: str, value: str) -> str:
    return WORDS[lang].get(value, value)


def template_key(notice: Notice) -> str:
    return notice.event if notice.kind is NoticeKind.EVENT else f"{notice.kind.value}:{notice.event}"


def render(notice: Notice, language: str | None, names: Names, link: str) -> Message:
    """The title and plain-text body of ``notice`` for a reader of ``language``."""
    lang = language_of(language)
    title = TITLES[lang][template_key(notice)].format(
        sender=names.agency(notice.sender_agency),
        receiver=names.agency(notice.receiver_agency),
        by=names.agency(notice.by_agency),
        service=names.service(notice.service_id),
        priority=_word(lang, notice.priority),
    )
    label = LABELS[lang]
    lines = [
        title,
        "",
        f"{label['referral']}: {notice.referral_id}",
        f"{label['from']}: {names.agency(notice.sender_agency)}",
        f"{label['to']}: {names.agency(notice.receiver_agency)}",
        f"{label['service']}: {names.service(notice.service_id)}",
        f"{label['priority']}: {_word(lang, notice.priority)}",
        f"{label['status']}: {_word(lang, notice.status)}",
    ]
    if notice.reason_code:
        lines.append(f"{label['reason']}: {notice.reason_code}")
    lines += ["", f"{label['open']}: {link}"]
    return Message(title=title, body="\n".join(lines) + "\n")


def render_digest(language: str | None, items: list[tuple[datetime, Message]]) -> Message:
    """One message summing up several, oldest first."""
    lang = language_of(language)
    title = TITLES[lang]["digest"].format(count=len(items))
    blocks = [f"{at:%Y-%m-%d %H:%M} {message.body}" for at, message in sorted(items, key=lambda i: i[0])]
    return Message(title=title, body=f"{title}\n\n" + "\n---\n".join(blocks))
