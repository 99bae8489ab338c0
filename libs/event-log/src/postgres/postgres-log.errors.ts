/** Raised for a topic that ensureTopics never created (or a partition it does not have). */
export class UnknownTopicError extends Error {
  constructor(readonly topic: string) {
    super(`unknown topic "${topic}" (create it with ensureTopics)`);
    this.name = 'UnknownTopicError';
  }
}
