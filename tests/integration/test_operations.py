"""An operator is told when money or orders are at risk: a poison message in the fulfilment queue
ends in its dead-letter queue and the template's alarm on that queue goes to ALARM within its
evaluation period, is published to the alarm topic and shows in `shopstack alarms`."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from shopstack.cli import main
from shopstack.harness import LocalCloud
from shopstack.waiting import eventually

pytestmark = pytest.mark.integration


def _alarm_on(cloud: LocalCloud, queue_name: str) -> dict[str, Any]:
    [alarm] = [a for a in cloud.alarms() if a["dimensions"] == {"QueueName": queue_name}]
    return alarm


def _drain(sqs: Any, url: str) -> None:
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_poison_message_in_the_fulfilment_queue_dead_letters_and_raises_its_alarm(
    cloud: LocalCloud, outputs: dict[str, str], aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = aws("sqs")
    url = outputs["FulfilmentQueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    dlq_name = redrive["deadLetterTargetArn"].rsplit(":", 1)[1]
    dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    _drain(sqs, dlq_url)  # what earlier tests left there (SQS allows one purge a minute: the end's)
    alarm = eventually(lambda: (a := _alarm_on(cloud, dlq_name))["state"] == "OK" and a, timeout=90)
    assert alarm["threshold"] == 0 and alarm["actions"], alarm

    # Each failed receive waits out the visibility timeout (3 minutes as deployed); 1 s here lets
    # the message use up its receives in seconds, as it would in 15 minutes on AWS.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    try:
        # A receive takes the queue's timeout when it starts; the consumer's long polls last 1 s,
        # so a message that becomes visible after 3 s meets only polls begun after the change.
        sqs.send_message(QueueUrl=url, MessageBody="not an order request", DelaySeconds=3)
        eventually(
            lambda: (
                int(
                    sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
                        "Attributes"
                    ]["ApproximateNumberOfMessages"]
                )
                or None
            ),
            timeout=60,
        )
        dead_lettered = time.monotonic()
        raised = eventually(lambda: (a := _alarm_on(cloud, dlq_name))["state"] == "ALARM" and a, timeout=90)
        assert time.monotonic() - dead_lettered <= raised["period"] * raised["evaluationPeriods"] + 15
        assert "Threshold Crossed" in raised["reason"] or "threshold" in raised["reason"].lower(), raised["reason"]

        capsys.readouterr()
        assert main(["alarms", "--endpoint", cloud.base_url]) == 0
        printed = capsys.readouterr().out.splitlines()
        [row] = [line for line in printed if line.split()[1:2] == [raised["name"]]]
        assert row.split()[0] == "ALARM"
        assert any(line.strip().startswith(f"{raised['name']}: ") for line in printed), "with its reason"
    finally:
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"VisibilityTimeout": attributes["Attributes"]["VisibilityTimeout"]}
        )
        sqs.purge_queue(QueueUrl=dlq_url)
    eventually(lambda: _alarm_on(cloud, dlq_name)["state"] == "OK" or None, timeout=90)
