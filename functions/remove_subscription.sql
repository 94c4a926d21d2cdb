create or replace function hookline.remove_subscription(subscription_id bigint)
returns bigint
language plpgsql
set search_path = ''
as $$
begin
  delete from hookline.subscriptions s where s.subscription_id = remove_subscription.subscription_id;
  if not found then
    raise exception using
      errcode = 'HL027',
      message = format('unknown subscription %s', remove_subscription.subscription_id),
      hint = 'hookline subscriptions list shows the subscriptions.';
  end if;
  return remove_subscription.subscription_id;
end
$$;

comment on function hookline.remove_subscription(bigint) is
  'Removes a subscription; deliveries already made are not affected. Returns its id. Errors: HL027 unknown subscription.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.remove_subscription(bigint) from public;
