// The exchange's clock: NSE/BSE run on Indian Standard Time, UTC+5:30 all year (no DST). Pure.

/** The IANA zone of the exchanges (and the MarketFeed schedule's default). */
export const EXCHANGE_TIME_ZONE = 'Asia/Kolkata';
/** IST − UTC. Also the skew of Dhan's epochs, which are IST wall-clock time written as UTC. */
export const IST_OFFSET_MS = 19_800_000;
export const IST_OFFSET_SECONDS = IST_OFFSET_MS / 1000;
