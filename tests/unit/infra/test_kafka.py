"""The layout of the local Kafka: one node as before, or three voters whose topics get
three replicas, two of them in sync for a write."""

from __future__ import annotations

from pathlib import Path

from infra.kafka import KafkaPorts, cluster, server_properties

RUN = Path("/run/ecg")


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_a_single_node_keeps_its_names_and_one_replica() -> None:
    single = cluster([KafkaPorts(9092, 9093)])
    (node,) = single.nodes
    assert (node.id, node.name, node.data_dir(RUN)) == (1, "kafka", RUN / "kafka-data")
    assert single.bootstrap == "127.0.0.1:9092"
    settings = properties(server_properties(RUN, node, single))
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert settings["log.dirs"] == str(RUN / "kafka-data")
    assert settings["default.replication.factor"] == settings["min.insync.replicas"] == "1"
    assert settings["offsets.topic.replication.factor"] == "1"


def test_three_nodes_are_three_voters_with_three_replicas_two_in_sync() -> None:
    three = cluster([KafkaPorts(9092, 9093), KafkaPorts(9192, 9193), KafkaPorts(9292, 9293)])
    assert [node.name for node in three.nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert three.bootstrap == "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292"
    data_dirs = {node.data_dir(RUN) for node in three.nodes}
    assert data_dirs == {RUN / "kafka-data" / n for n in ("1", "2", "3")}
    for node in three.nodes:
        settings = properties(server_properties(RUN, node, three))
        assert settings["node.id"] == str(node.id)
        assert settings["process.roles"] == "broker,controller"
        assert settings["controller.quorum.voters"] == (
            "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
        )
        assert settings["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.ports.broker}"
        assert settings["default.replication.factor"] == "3"
        assert settings["min.insync.replicas"] == "2"
        assert settings["unclean.leader.election.enable"] == "false"
        assert settings["offsets.topic.replication.factor"] == "3"
        assert settings["transaction.state.log.replication.factor"] == "3"
        assert settings["transaction.state.log.min.isr"] == "2"
