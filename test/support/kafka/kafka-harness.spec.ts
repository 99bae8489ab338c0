// The pure parts of the Kafka test harness: what a single-node broker must be configured with, where
// the jars are cached, how versions and Java releases are read. (The broker itself is exercised by
// every Kafka int-spec.)
import { brokerProperties, newClusterId } from './jvm-kafka-broker';
import { DEFAULT_KAFKA_VERSION, kafkaCacheDir, kafkaVersion, loggingBinding, parseJavaMajor, pomXml } from './kafka-jars';

const parse = (text: string) =>
  Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

describe('JVM Kafka broker properties', () => {
  const base = { port: 40001, controllerPort: 40002, logDir: '/tmp/k/data' };

  it('runs broker and controller in one node on loopback, advertising the address clients dial', () => {
    const p = parse(brokerProperties({ ...base, version: '4.4.0' }));
    expect(p).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:40002',
      listeners: 'PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:40001',
      'log.dirs': '/tmp/k/data',
      'auto.create.topics.enable': 'false',
    });
  });

  it('sets every internal topic to replication factor 1 (else groups never form on one broker)', () => {
    const p4 = parse(brokerProperties({ ...base, version: '4.4.0' }));
    expect(p4).toMatchObject({
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'share.coordinator.state.topic.replication.factor': '1',
      'share.coordinator.state.topic.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
    });
    expect(Number(p4['group.min.session.timeout.ms'])).toBeLessThanOrEqual(1_000);
    // 3.9 has no share coordinator: its keys would only be warned about.
    const p3 = parse(brokerProperties({ ...base, version: '3.9.2' }));
    expect(p3['share.coordinator.state.topic.replication.factor']).toBeUndefined();
    expect(p3['offsets.topic.replication.factor']).toBe('1');
  });

  it('makes KRaft cluster ids of 16 bytes in base64url that cannot read as a flag', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});

describe('Kafka jars', () => {
  it('caches outside the clone: TESSERA_KAFKA_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(kafkaCacheDir('4.4.0', { TESSERA_KAFKA_CACHE_DIR: '/c', HOME: '/root' })).toBe('/c/4.4.0');
    expect(kafkaCacheDir('4.4.0', { XDG_CACHE_HOME: '/x', HOME: '/root' })).toBe('/x/tessera/kafka/4.4.0');
    expect(kafkaCacheDir('3.9.2', { HOME: '/root' })).toBe('/root/.cache/tessera/kafka/3.9.2');
  });

  it('takes the version from TESSERA_KAFKA_VERSION and refuses anything but a release number', () => {
    expect(kafkaVersion({})).toBe(DEFAULT_KAFKA_VERSION);
    expect(kafkaVersion({ TESSERA_KAFKA_VERSION: '3.9.2' })).toBe('3.9.2');
    expect(() => kafkaVersion({ TESSERA_KAFKA_VERSION: '3.9.x' })).toThrow(/TESSERA_KAFKA_VERSION/);
    expect(() => kafkaVersion({ TESSERA_KAFKA_VERSION: '4.4.0</version><x>' })).toThrow(/TESSERA_KAFKA_VERSION/);
  });

  it('adds the slf4j binding the version logs through: log4j2 at Kafka\'s own log4j version on 4.x, reload4j on 3.x', () => {
    expect(loggingBinding('4.4.0', ['kafka_2.13-4.4.0.jar', 'log4j-api-2.25.5.jar', 'log4j-core-2.25.5.jar'])).toEqual([
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.25.5' },
    ]);
    expect(loggingBinding('3.9.2', ['kafka_2.13-3.9.2.jar', 'slf4j-api-1.7.36.jar']).map((a) => a.artifactId)).toEqual(['slf4j-reload4j', 'reload4j']);
    expect(() => loggingBinding('4.4.0', ['kafka_2.13-4.4.0.jar'])).toThrow(/log4j-core/);
  });

  it('writes a throwaway pom that lists exactly the requested artifacts', () => {
    const pom = pomXml([{ groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: '4.4.0' }]);
    expect(pom).toContain('<dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>4.4.0</version></dependency>');
    expect(pom.match(/<dependency>/g)).toHaveLength(1);
    expect(pom).toContain('<packaging>pom</packaging>');
  });

  it('reads the Java feature release from `java -version`', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment')).toBe(17);
    expect(parseJavaMajor('openjdk version "25" 2025-09-16')).toBe(25);
    expect(parseJavaMajor('java version "1.8.0_402"')).toBe(8);
    expect(parseJavaMajor('no java here')).toBeNull();
  });
});
