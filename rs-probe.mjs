import { PlanCache, loadParser } from './dist/router/planner/parse-cache.js';
import { buildShardingScheme } from './dist/router/planner/sharding-scheme.js';
await loadParser();
const c = new PlanCache(buildShardingScheme({ orders: { column: 'customer_id', type: 'integer' } }));
for (const sql of [
 "select note, count(*) from orders group by note having count(*) > 3 and note <> 'x'",
 "select note, count(distinct amount), sum(price) from orders group by note having avg(distinct amount) > 3 order by 2 desc",
 "select count(distinct amount) from orders",
 "select distinct count(*) from orders group by note",
 "select id from orders order by id limit $1 offset $2",
 "select note, count(*) from orders group by note order by 2 limit $1",
 "select id from orders limit $1",
 "select 1 from orders having true",
 "select count(distinct amount), count(distinct note) from orders",
]) { const p = c.plan(sql); console.log(sql, '\n  ', p.reason, '\n  ', p.select?.shardSql, JSON.stringify(p.select?.having), JSON.stringify(p.select?.columns)); }
