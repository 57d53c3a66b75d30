import { subjectIdOf, SUBJECT_NAMESPACE, uuidV5 } from './principal';

describe('uuidV5', () => {
  it('matches the RFC 4122 example (www.example.com in the DNS namespace)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('subjectIdOf', () => {
  it('keeps a subject that is already a UUID (lower-cased)', () => {
    expect(subjectIdOf('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe(
      '0f8fad5b-d9cb-469f-a165-70867728950e',
    );
  });

  it('maps any other subject to the same UUID v5 every time', () => {
    const id = subjectIdOf('auth0|alice');
    expect(id).toBe(uuidV5(SUBJECT_NAMESPACE, 'auth0|alice'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(subjectIdOf('auth0|bob')).not.toBe(id);
  });
});
