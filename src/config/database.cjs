'use strict';
// Connection settings for sequelize-cli (migrations and seeders), plain JS so the CLI can
// load it without a build. It reads the same variables as src/config/env.ts: DATABASE_URL
// (or DATABASE_URL_FILE) for PostgreSQL, otherwise the embedded SQLite file under DATA_DIR.
// MIGRATION_DATABASE_URL, when set, lets migrations run as the owner role while the app
// itself connects with a least-privilege role.
const fs = require('node:fs');
const path = require('node:path');

if ((process.env.NODE_ENV ?? 'development') === 'development' && fs.existsSync('.env')) {
  process.loadEnvFile('.env');
}

function fromFile(name) {
  const file = process.env[`${name}_FILE`];
  return file ? fs.readFileSync(file, 'utf8').trim() : process.env[name];
}

const url = fromFile('MIGRATION_DATABASE_URL') || fromFile('DATABASE_URL');
// Seeders are idempotent and keep no record, so `npm run db:seed` can run (and print) again.
const settings = url
  ? { url, dialect: 'postgres', logging: false }
  : {
      dialect: 'sqlite',
      storage: path.join(process.env.DATA_DIR || 'data', 'confidant.sqlite'),
      logging: false,
    };

module.exports = { development: settings, test: settings, production: settings };
