//! A test MQTT client that logs in as a registered player and publishes what a player
//! publishes (counts, proof of play), for tests of what the controller makes of them.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use content::protocol::{
    self, CountsAck, CountsBatch, CountsRecord, DwellSummary, PlayBatch, PlayBatchAck, PlayRecord,
    PlayerTopic, Topic, ZoneTally,
};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

use crate::Controller;

/// A test MQTT client logged in as a player; reconnects by itself and resubscribes to the
/// player's acknowledgement topics. Acknowledgements arrive on `acks`.
pub struct FakePlayer {
    id: String,
    client: Client,
    acks: Mutex<mpsc::Receiver<(String, Vec<u8>)>>,
}

impl FakePlayer {
    pub fn connect(controller: &Controller, id: &str, password: &str) -> FakePlayer {
        let addr = controller.mqtt.trim_start_matches("mqtt://");
        let (host, port) = addr.rsplit_once(':').unwrap();
        let mut options = MqttOptions::new(id, host, port.parse().unwrap());
        options.set_credentials(id, password);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = Client::new(options, 256);
        let (tx, acks) = mpsc::channel();
        let subscriber = client.clone();
        let topics: Vec<String> = [PlayerTopic::CountsAck, PlayerTopic::PlaysAck]
            .iter()
            .map(|k| Topic::player(&id.parse().unwrap(), *k).to_string())
            .collect();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for t in &topics {
                            let _ = subscriber.try_subscribe(t, QoS::AtLeastOnce);
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // Broker gone (controller killed): retry until it is back.
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        });
        FakePlayer {
            id: id.to_string(),
            client,
            acks: Mutex::new(acks),
        }
    }

    pub fn topic(&self, kind: PlayerTopic) -> String {
        Topic::player(&self.id.parse().unwrap(), kind).to_string()
    }

    pub fn send_counts(&self, records: &[CountsRecord]) {
        let batch = CountsBatch {
            records: records.to_vec(),
        };
        let _ = self.client.try_publish(
            self.topic(PlayerTopic::Counts),
            QoS::AtLeastOnce,
            false,
            protocol::encode(&batch),
        );
    }

    pub fn send_plays(&self, batch: &str, records: &[PlayRecord]) {
        let batch = PlayBatch {
            batch: batch.into(),
            records: records.to_vec(),
        };
        let _ = self.client.try_publish(
            self.topic(PlayerTopic::Plays),
            QoS::AtLeastOnce,
            false,
            protocol::encode(&batch),
        );
    }

    /// Acknowledged counts sequence numbers received within `wait`.
    pub fn counts_acked(&self, wait: Duration) -> Vec<u64> {
        let mut seqs = Vec::new();
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.acks.lock().unwrap().recv_timeout(left) {
                Ok((topic, payload)) if topic.ends_with("/counts_ack") => {
                    let ack: CountsAck = serde_json::from_slice(&payload).unwrap();
                    seqs.extend(ack.seqs);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        seqs
    }

    /// Waits for counts acknowledgements covering `seqs` (resending them every 2 s).
    pub fn expect_counts_acked(&self, records: &[CountsRecord]) {
        let mut missing: BTreeSet<u64> = records.iter().map(|r| r.seq).collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !missing.is_empty() {
            assert!(Instant::now() < deadline, "no ack for {missing:?}");
            self.send_counts(records);
            for s in self.counts_acked(Duration::from_secs(2)) {
                missing.remove(&s);
            }
        }
    }

    pub fn expect_plays_acked(&self, batch: &str, records: &[PlayRecord]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "no plays ack");
            self.send_plays(batch, records);
            let until = Instant::now() + Duration::from_secs(2);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                if let Ok((topic, payload)) = self.acks.lock().unwrap().recv_timeout(left)
                    && topic.ends_with("/plays_ack")
                {
                    let ack: PlayBatchAck = serde_json::from_slice(&payload).unwrap();
                    assert_eq!(ack.batch, batch);
                    assert_eq!(ack.ids.len(), records.len());
                    return;
                }
            }
        }
    }
}

/// A 10-second counts record ending now, with `people` in `zone` and nothing else.
pub fn zone_record(seq: u64, zone: &str, people: u32) -> CountsRecord {
    let end = chrono::Utc::now();
    CountsRecord {
        seq,
        start: end - chrono::Duration::seconds(10),
        end,
        frames: 50,
        lines: Default::default(),
        zones: [(
            zone.to_string(),
            ZoneTally {
                occupancy: Some(people),
                max: people,
                mean: f64::from(people),
                entries: 0,
                exits: 0,
                dwell: DwellSummary {
                    visits: 0,
                    mean_s: 0.0,
                    max_s: 0.0,
                    bounds_s: vec![60.0, 300.0, 900.0, 1800.0],
                    counts: vec![0; 5],
                },
            },
        )]
        .into(),
    }
}
