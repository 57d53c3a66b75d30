import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A delivery alert already sent: one per (tenant, order, type, expected delivery). */
@Entity({ name: 'orchestrator_delivery_alerts' })
export class DeliveryAlertEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'purchase_order_id', type: 'varchar', length: 255 }) purchaseOrderId: string;
  @Column({ name: 'po_number', type: 'varchar', length: 100, nullable: true }) poNumber:
    string | null;
  @Column({ name: 'alert_type', type: 'varchar', length: 50 }) alertType: string;
  @Column({ name: 'expected_delivery', type: 'timestamptz' }) expectedDelivery: Date;
  @Column({ name: 'event_id', type: 'uuid' }) eventId: string;
  @Column({ name: 'sent_at', type: 'timestamptz', default: () => 'NOW()' }) sentAt: Date;
}
