/** The example payload of the Zaius v3 "Create & Update Customer(s)" documentation (POST /v3/profiles). */
export const ZAIUS_EXAMPLE_BODY = `[{
    "attributes": {
      "first_name": "Johnny",
      "last_name": "Zaius",
      "email": "sample@test.com",
      "phone": "555-867-5309",
      "street1": "123 Fake St",
      "street2": "Apt 101",
      "city": "Boston",
      "state": "MA",
      "zip": "02101",
      "country": "USA",
      "timezone": "America/New_York",
      "gender": "M"
    }
  },
  {
    "attributes": {
      "first_name": "Jenny",
      "last_name": "Example",
      "email": "example@notreal.com",
      "phone": "555-555-5555",
      "street1": "456 Imaginary Ln",
      "city": "Leesburg",
      "state": "Virginia",
      "zip": "20175",
      "country": "United States",
      "timezone": "America/New_York",
      "gender": "F"
    }
}]`;
