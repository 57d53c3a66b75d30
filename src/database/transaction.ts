import { EntityManager } from 'typeorm';

/**
 * A running database transaction, handed from the module that opened it to another
 * module's facade so both write atomically (e.g. a parent's final status and its outbox
 * event). Only repositories look inside it.
 */
export type Transaction = EntityManager;
